FROM alpine:3.20
RUN mkdir /data \
    && touch /data/ready
LABEL org.opencontainers.image.title=demo
EXPOSE 8080
