FROM alpine:3.20
COPY app.sh /usr/local/bin/app.sh
COPY conf/ /etc/app/
