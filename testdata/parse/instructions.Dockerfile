ARG BASE=alpine:3.20
ARG UNSET
FROM --platform=$BUILDPLATFORM ${BASE} AS Build
LABEL org.opencontainers.image.title="imgopt test" version=1 "quoted key"=x
LABEL legacy value with spaces
MAINTAINER someone <someone@example.com>
ENV PATH=/usr/local/bin:$PATH HOME=/root
ENV LEGACY the rest of the line
ARG A B=2 C="three four"
EXPOSE 80 443/tcp 53/udp
USER app:app
WORKDIR /src
STOPSIGNAL SIGTERM
RUN --mount=type=cache,target=/var/cache/apk --network=none --security=insecure apk add curl
COPY --from=build --chown=1000:1000 --chmod=0755 --link --parents --exclude=*.md ./a ./b /dst/
ADD --checksum=sha256:0123 --keep-git-dir=true --unpack=false --chown=app https://example.com/x.tar.gz /x/
ONBUILD COPY . /app
ONBUILD RUN make
run lower case keyword
Copy mixed case keyword /x
ENTRYPOINT exec "$@"
FROM build
