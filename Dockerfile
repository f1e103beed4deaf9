# mlc-sim as a container: `docker build -t mlc-sim .`, then e.g. `docker run --rm mlc-sim fleet --server URL`.
# Used by the Kubernetes manifests in deploy/k8s (README: Past one machine).

# Production dependencies, built where a compiler is at hand (better-sqlite3 builds from source when no prebuilt
# binary fits).
FROM node:20.19-bookworm-slim AS dependencies
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20.19-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY config ./config
COPY src ./src
COPY simulator ./simulator
# The code stays root's; node may create files beside it (`serve`'s status database, `--out out/`).
RUN chown node:node /app
# The image's own user (uid 1000), not root: the manifests require runAsNonRoot.
USER node
ENTRYPOINT ["node", "simulator/bin.js"]
CMD ["--help"]
