FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends golang-go && rm -rf /var/lib/apt/lists/*
WORKDIR /go/src/app
COPY . .
RUN go build -o /usr/local/bin/greeter .
CMD greeter --name world

FROM debian:12
COPY --from=build /usr/local/bin/greeter /usr/local/bin/greeter
WORKDIR /go/src/app
CMD greeter --name world
