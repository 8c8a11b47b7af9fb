FROM alpine
CMD ["echo", "exec form"]
CMD [ "echo", 'single quotes are not JSON' ]
CMD ["unterminated
ENTRYPOINT ["a" "missing comma"]
SHELL ["/bin/sh", "-c"]
VOLUME ["/a", "/b"]
VOLUME /c /d
COPY ["a file", "/dest dir/"]
ADD [ "x", "/y" ]
HEALTHCHECK CMD ["curl", "-f", "http://localhost/"]
HEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1
HEALTHCHECK NONE
