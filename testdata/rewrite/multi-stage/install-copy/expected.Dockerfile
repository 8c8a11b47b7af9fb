FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY hello.c .
RUN gcc -O2 -o hello hello.c && install -m 0755 hello /usr/local/bin/
ENTRYPOINT ["hello"]

FROM debian:12
COPY --from=build /usr/local/bin/hello /usr/local/bin/hello
WORKDIR /src
ENTRYPOINT ["hello"]
