FROM python:3.12-alpine
RUN apk add --no-cache gcc musl-dev
RUN pip install --no-cache-dir flask==3.0.3
