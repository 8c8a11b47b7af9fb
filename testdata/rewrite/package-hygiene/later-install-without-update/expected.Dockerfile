FROM debian:bookworm
RUN apt-get update
# the lists must stay: the next RUN installs without updating them again
RUN apt-get install -y build-essential
RUN apt-get install -y curl \
 && rm -rf /var/lib/apt/lists/*
CMD ["bash"]
