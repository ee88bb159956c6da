# syntax=docker/dockerfile:1
# Tollgate's image: the proxy, the fake OpenAI upstream and the demo tools (one image, the command
# picks which). The install and build commands are the README's "Building from source" ones;
# tests/stack/dockerfile.test.ts fails when the two drift apart.
# 22: the plugin toolchain's own version (plugin/.nvmrc), an LTS line with security fixes until
# 2027-04-30. 20 reached end of life on 2026-04-30: its images get no more fixes.
ARG NODE_VERSION=22

# ---- build: every dependency (TypeScript, webpack, the plugin toolchain), then both builds ----
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY proxy/package.json proxy/
COPY plugin/package.json plugin/
RUN npm ci
COPY . .
RUN npm run build

# ---- plugin: only the built Grafana app, copied into Grafana's plugin volume by the stack ----
FROM busybox:1.37 AS plugin
COPY --from=build /app/plugin/dist /plugin
CMD ["sh", "-c", "rm -rf /out/* && cp -R /plugin/. /out/ && echo \"tollgate-llm-app copied to Grafana's plugin volume\""]

# ---- runtime: production dependencies of the proxy only, non-root ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY proxy/package.json proxy/
COPY plugin/package.json plugin/
RUN npm ci --omit=dev --workspace proxy && npm cache clean --force
COPY --from=build /app/proxy/dist proxy/dist
# migrate.ts reads the migrations from <app>/sql/migrations at start.
COPY sql/migrations sql/migrations
# Without DATABASE_URL the proxy keeps an embedded Postgres under PGLITE_DATA_DIR: a writable place.
RUN mkdir -p /data && chown node:node /data
ENV PGLITE_DATA_DIR=/data/pgdata
USER node
EXPOSE 8080
# /readyz answers 200 only while the database does; node's fetch, because the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The proxy drains in-flight requests and flushes the call log on SIGTERM (SHUTDOWN_GRACE_MS).
STOPSIGNAL SIGTERM
CMD ["node", "proxy/dist/main.js"]
