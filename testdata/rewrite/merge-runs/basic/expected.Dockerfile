FROM debian:12
RUN apt-get update \
# install curl
    && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
CMD ["curl", "--version"]
