# dropcap alone in an empty image, for application images to copy from:
#
#   COPY --from=dropcap /dropcap /usr/local/bin/dropcap
#   HEALTHCHECK CMD ["dropcap", "ping", "--check", "127.0.0.1"]
#
# It is built from the static binary in the build context, so it needs no registry and no
# network (README, "Health-check image"):
#
#   RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu
#   DOCKER_BUILDKIT=0 docker build -t dropcap .
#
# .dockerignore keeps target/ (gigabytes) out of the context, except the static binaries.
FROM scratch
ARG DROPCAP_BIN=target/x86_64-unknown-linux-gnu/release/dropcap
COPY ${DROPCAP_BIN} /dropcap
USER 65534:65534
ENTRYPOINT ["/dropcap"]
