# syntax=docker/dockerfile:1
# xentrop-relay image: a build stage compiles TypeScript and the native data plane from the locked
# dependencies, then drops dev dependencies; the runtime stage holds only what `xrelay serve` needs and
# runs as the unprivileged `node` user.
#
#   docker build -t xentrop-relay .
#   docker run --network host -v xrelay-data:/var/lib/xrelay \
#     -e XRELAY_MEDIA_ADVERTISED_HOST=203.0.113.10 -e XRELAY_TURN_EXTERNAL_IP=203.0.113.10 \
#     -e XRELAY_TURN_AUTH_SECRET=... xentrop-relay
#
# Host networking is the way to run it: TURN hands out one UDP relay port per allocation
# (turn.relayPortMin..relayPortMax, 49152-65535 by default) and a per-port proxy for that range would
# cost more than the relay. With published ports instead, narrow the range (XRELAY_TURN_RELAY_PORT_MIN/
# MAX) and publish it. The image listens on 0.0.0.0, so the relay refuses to start without
# media.advertisedHost and turn.externalIp (it would otherwise hand clients 0.0.0.0). Config: XRELAY_*
# variables, or mount a file and pass `serve --config /etc/xrelay/xrelay.json`.

FROM node:20-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends g++ make python3 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts/ scripts/
COPY native/ native/
COPY src/ src/
COPY loadtest/ loadtest/
# npm ci runs the install hook (native/build.mjs: the addon) and prepare (tsc: dist/).
RUN npm ci --no-audit --no-fund \
  && node -e "require('./native/build/Release/xrelay_dataplane.node')" \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    XRELAY_HOST=0.0.0.0 \
    XRELAY_DATA_DIR=/var/lib/xrelay
WORKDIR /opt/xrelay
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/src/ dist/src/
COPY --from=build /src/src/load/scenarios/ src/load/scenarios/
COPY --from=build /src/native/build/Release/xrelay_dataplane.node native/build/Release/
COPY LICENSE README.md openapi.yaml ./
COPY docs/ docs/
RUN mkdir -p /var/lib/xrelay && chown node:node /var/lib/xrelay
USER node
VOLUME ["/var/lib/xrelay"]
# HTTP(S)/WebSocket, media cells, TURN (UDP and TCP), TURN over TLS.
EXPOSE 7800/tcp 7801/udp 3478/udp 3478/tcp 5349/tcp
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "const s=process.env.XRELAY_TLS_CERT?'https':'http';if(s==='https')process.env.NODE_TLS_REJECT_UNAUTHORIZED='0';fetch(s+'://127.0.0.1:'+(process.env.XRELAY_HTTP_PORT||7800)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM drains (give `docker stop -t` more than shutdownGraceSec); SIGHUP reloads certificates.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/xrelay/dist/src/cli/main.js"]
CMD ["serve"]
