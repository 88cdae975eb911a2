# bgtool as a container image: the static musl binary, CA certificates and an unprivileged user on
# `scratch`, nothing else.
#   docker build --build-arg BGTOOL_GIT_COMMIT="$(git rev-parse --short=12 HEAD)" -t bgtool .
#   docker run --rm -v "$PWD:/work" -w /work bgtool taskdef --input saved.json
# In another image: COPY --from=bgtool /bgtool /usr/local/bin/bgtool
# scripts/image-tree assembles the last stage's files the way it does and runs the binary there.

# Pinned to the toolchain the project is built and tested with (rustc 1.95, Debian 12).
FROM rust:1.95.0-slim-bookworm AS build
# musl-gcc compiles aws-lc-sys's C code for the musl target.
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
# Dependencies first, so that a source change does not refetch them.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo fetch --locked \
    && rm -rf src
COPY src src
COPY templates templates
COPY buildspec.yml appspec_template.yaml ./
ARG BGTOOL_GIT_COMMIT=unknown
ENV BGTOOL_GIT_COMMIT=${BGTOOL_GIT_COMMIT} \
    CC_x86_64_unknown_linux_musl=musl-gcc
RUN cargo build --release --locked --offline --target x86_64-unknown-linux-musl \
    && cp target/x86_64-unknown-linux-musl/release/bgtool /bgtool

FROM scratch
ARG BGTOOL_GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="bgtool" \
      org.opencontainers.image.description="Build-stage artifacts for Amazon ECS blue/green deployments: taskdef.json, appspec.yaml, imageDetail.json, imagedefinitions.json, and the Terraform stack" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.revision="${BGTOOL_GIT_COMMIT}"
# rustls reads the system trust store; scratch has none, so the image carries Debian's.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The unprivileged user, named, so that tools reading /etc/passwd see who runs.
COPY docker/passwd /etc/passwd
COPY docker/group /etc/group
COPY --from=build /bgtool /bgtool
USER 65532:65532
ENTRYPOINT ["/bgtool"]
