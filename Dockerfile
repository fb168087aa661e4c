# funnel: multi-stage build. The ONNX Runtime library comes from the official
# PyPI wheel (as scripts/setup-ort.sh does); the runtime image is slim, runs as
# a non-root user and carries the models and the library.
FROM rust:1.95-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-pip && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/setup-ort.sh && cargo build --release --locked --bin funnel

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates libstdc++6 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /opt/funnel funnel
COPY --from=build /src/target/release/funnel /usr/local/bin/funnel
COPY --from=build /src/.ort/libonnxruntime.so /opt/funnel/lib/libonnxruntime.so
COPY --from=build /src/models /opt/funnel/models
ENV ORT_DYLIB_PATH=/opt/funnel/lib/libonnxruntime.so \
    FUNNEL_MANIFEST=/opt/funnel/models/manifest.json \
    FUNNEL_TOKENS_FILE=/etc/funnel/tokens.toml \
    FUNNEL_LISTEN=0.0.0.0:50051 \
    FUNNEL_METRICS_LISTEN=0.0.0.0:9090 \
    FUNNEL_WEB__LISTEN=0.0.0.0:8080 \
    FUNNEL_LOG_FORMAT=json
USER funnel
WORKDIR /opt/funnel
EXPOSE 50051 9090 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["funnel", "health", "--addr", "http://127.0.0.1:50051"]
ENTRYPOINT ["funnel"]
CMD ["serve"]
