# syntax=docker/dockerfile:1
#
# claimgate image: docker build -t claimgate .
#   docker run -p 8080:8080 -e SESSION_SECRET -e DATABASE_URL \
#     -v "$PWD/claimgate.yaml:/etc/claimgate/claimgate.yaml:ro" claimgate
# Any CLI command works in place of the default one, e.g. `docker run ... claimgate migrate --config /etc/claimgate/claimgate.yaml`.

# One Node version for every stage: the one CI tests (see docs/deployment-node.md before changing it).
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: bundle the TypeScript sources into dist/ with esbuild (needs the dev dependencies) ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/build.ts
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# --- deps: production dependencies only (none has an install script; oidc-provider is a dev dependency) -----------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime -----------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time: its "type": "module" makes dist/**/*.js and migrations/*.js load as ESM.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The migrations are found next to package.json: /app/migrations beside /app/dist.
COPY --from=build /app/migrations ./migrations
# /app/.claimgate holds the embedded database (database.dataDir default ./.claimgate/data) when no DATABASE_URL is
# given: mount a volume there to keep it. /etc/claimgate is where the configuration file is mounted.
RUN mkdir -p /app/.claimgate /etc/claimgate && chown node:node /app/.claimgate
USER node
EXPOSE 8080
# The slim image has no curl; Node's fetch does the check. Assumes listen.port 8080 and the default basePath.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/claimgate/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/app/cli/main.js"]
CMD ["start", "--config", "/etc/claimgate/claimgate.yaml"]
