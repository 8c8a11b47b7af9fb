FROM alpine
FETCH http://x /y
