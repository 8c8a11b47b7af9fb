# syntax=docker/dockerfile:1
FROM alpine:3.20
COPY --chmod=755 bin/ /opt/bin/
