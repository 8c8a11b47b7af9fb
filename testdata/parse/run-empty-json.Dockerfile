FROM alpine
RUN [ ]
