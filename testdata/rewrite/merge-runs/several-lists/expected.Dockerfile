FROM alpine:3.20
RUN mkdir -p /opt/app \
    && ( echo one > /opt/app/a; echo two > /opt/app/b )
