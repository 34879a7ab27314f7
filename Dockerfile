# eventhub-worker image: `ehw run` by default; every other ehw command from the same image
# (`docker run … hub --host 0.0.0.0`, `… send`, `… status`).
#
#   docker build -t eventhub-worker .
#   docker run --rm -e EHW_EVENTHUB_CONNECTION_STRING=… -e EHW_STORAGE_CONNECTION_STRING=… \
#     -e EHW_EVENTHUB_NAME=orders -e EHW_CONTAINER_NAME=checkpoints eventhub-worker
#
# See docs/containers.md for compose, Kubernetes and the handler mount.

# One Node major for every stage; the runtime is the LTS line the project is tested against.
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: full dev toolchain (TypeScript), compiles src/ to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
# `npm install` honours the lock's versions; `npm ci` refuses this lock because it cannot list
# Biome's native binaries for every platform (some registries serve only Linux's).
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only, no compiler, no test tools ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Containers are reached from outside their own loopback: probes, scrapers, other services.
ENV EHW_METRICS_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# Mount points: the worker config (EHW_CONFIG=/config/worker.config.json) and handler modules it
# names (plain JavaScript: .mjs/.js; TypeScript handlers must be built first — dist has no tsx).
# /data is for `hub --data /data` and ledger files; everything else stays read-only.
RUN mkdir -p /config /handlers /data && chown 1000:1000 /data
# The image's `node` user, numerically, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# The worker's metrics and health port (/metrics, /healthz, /readyz).
EXPOSE 9464
# Liveness of the worker (the default command). Exec form with node's fetch: slim images have no
# curl. An `ehw hub` container has no /healthz: compose gives it its own check on the admin port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.EHW_METRICS_PORT||'9464')+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, node as PID 1: SIGTERM from `docker stop` / Kubernetes reaches `ehw run`, which
# installs its own handlers and drains (a second SIGTERM exits at once). No shell in between.
ENTRYPOINT ["node", "/app/dist/cli/index.js"]
CMD ["run"]
