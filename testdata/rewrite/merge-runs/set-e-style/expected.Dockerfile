FROM debian:12
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates; \
    set -eux; \
    rm -rf /var/lib/apt/lists/*
