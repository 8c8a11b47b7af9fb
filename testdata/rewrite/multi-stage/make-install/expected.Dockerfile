FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential curl && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp
RUN curl -fsSLO http://deb.debian.org/debian/pool/main/h/hello/hello_2.10.orig.tar.gz \
 && tar xzf hello_2.10.orig.tar.gz \
 && cd hello-2.10 && ./configure && make && make install
WORKDIR /
CMD ["hello"]

FROM debian:12
COPY --from=build /usr/local /usr/local
WORKDIR /
CMD ["hello"]
