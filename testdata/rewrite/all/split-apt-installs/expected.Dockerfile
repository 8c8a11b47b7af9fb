FROM debian:bookworm
RUN apt-get update \
# the lists must stay: the next RUN installs without updating them again
    && apt-get install --no-install-recommends -y build-essential \
    && apt-get install --no-install-recommends -y curl \
 && rm -rf /var/lib/apt/lists/*
CMD ["bash"]
