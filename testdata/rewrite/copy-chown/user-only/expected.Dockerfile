FROM alpine:3.20
COPY --chown=1000:0 app/ /app/
USER 1000
