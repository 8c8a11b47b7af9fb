FROM alpine:3.20
RUN ( cd /tmp && wget -q https://example.com/x.tgz ) \
    && tar -xzf /tmp/x.tgz -C /opt && rm /tmp/x.tgz
