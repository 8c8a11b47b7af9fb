FROM alpine
# BuildKit refuses FROM, MAINTAINER and ONBUILD as ONBUILD triggers
ONBUILD FROM scratch
