FROM alpine
RUN --mont=type=cache,target=/x true
