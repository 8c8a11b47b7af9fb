FROM alpine:3.20
RUN wget -q -O /opt/tool.tar.gz https://example.com/tool.tar.gz && tar -xzf /opt/tool.tar.gz -C /opt \
    && rm /opt/tool.tar.gz
COPY config.yml /etc/tool/config.yml
