FROM rust:1.83 AS build
WORKDIR /src
COPY . .
RUN cargo build --release
CMD ["/src/target/release/server"]

FROM rust:1.83
COPY --from=build /src/target/release/server /src/target/release/server
WORKDIR /src
CMD ["/src/target/release/server"]
