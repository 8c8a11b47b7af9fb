# syntax=docker/dockerfile:1.7
# check=skip=JSONArgsRecommended;error=true
# escape=\
# not a directive: this comment ends the directive block
# escape=`
FROM alpine
RUN echo a \
    b
