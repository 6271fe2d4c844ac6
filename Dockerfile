# skiff: a multi-stage build of the one binary, run as a non-root user.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends perl make pkg-config zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin skiff && strip target/release/skiff

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates zlib1g && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/skiff /usr/local/bin/skiff
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/skiff"]
CMD ["controller"]
