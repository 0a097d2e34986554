# shardtail as a sidecar: tails the log files an application writes to a shared volume.
# Built in two stages so that python3/make/g++ (better-sqlite3 compiles natively when no prebuilt
# binary matches), TypeScript and the dev dependencies never reach the final image.

FROM node:20-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /opt/shardtail
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
# The default checkpointFile and engine.dataDir live in /var/lib/shardtail; mount a volume there
# for checkpoints that survive the container. /etc/shardtail is where agent.json is looked for
# when neither -c nor SHARDTAIL_CONFIG is given.
RUN mkdir -p /var/lib/shardtail /etc/shardtail && chown node:node /var/lib/shardtail
# The image's unprivileged user (uid 1000); it needs read access to the shared log volume.
USER node
# SIGTERM drains: open batches are acknowledged and checkpointed before exit, within
# shutdownTimeoutMillis (keep the pod's terminationGracePeriodSeconds above it).
STOPSIGNAL SIGTERM
# Needs "monitoring": {"listen": "127.0.0.1:9464"} (or 0.0.0.0:9464 for kubelet probes) in the config.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/shardtail/dist/cli.js"]
CMD ["start"]
