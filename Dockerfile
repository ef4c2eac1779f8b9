# syntax=docker/dockerfile:1
# One image per service, all from this file:
#   docker build --build-arg SERVICE=worker -t vod-ingest/worker .
# SERVICE (api | token | worker | emulator) can also be overridden at run time (-e SERVICE=...).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, tsc -b for shared and the four services --------------------------
FROM ${NODE_IMAGE} AS build
# g++, make and Python for node-gyp: npm ci builds the CRC-64 addon (packages/crc64-native) against
# this Node's own headers.
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Manifests first, so the npm ci layer is reused until a dependency changes.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/emulator/package.json services/emulator/
COPY services/token/package.json services/token/
COPY services/api/package.json services/api/
COPY services/worker/package.json services/worker/
COPY packages/crc64-native/ packages/crc64-native/
COPY packages/cli/package.json packages/cli/
RUN npm ci --no-audit --no-fund
# The toolchain is here, so an addon that did not build is a broken image, not a fallback.
RUN node -p "'crc64-native kernel: ' + require('@vod-ingest/crc64-native').kernel"
COPY tsconfig.base.json tsconfig.build.json ./
COPY shared/ shared/
COPY services/ services/
# tsconfig.build.json builds the CLI too (it is not part of the runtime image).
COPY packages/cli/ packages/cli/
RUN npm run build

# ---- runtime: production dependencies, compiled output, package.json files ---------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/emulator/package.json services/emulator/
COPY services/token/package.json services/token/
COPY services/api/package.json services/api/
COPY services/worker/package.json services/worker/
COPY packages/crc64-native/package.json packages/crc64-native/
# No toolchain here: the addon built in the build stage is copied in below.
RUN CRC64_NATIVE_SKIP_BUILD=1 npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/crc64-native/index.js packages/crc64-native/
COPY --from=build /app/packages/crc64-native/build/Release/crc64_native.node packages/crc64-native/build/Release/
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/services/emulator/dist services/emulator/dist
COPY --from=build /app/services/token/dist services/token/dist
COPY --from=build /app/services/api/dist services/api/dist
COPY --from=build /app/services/api/public services/api/public
COPY --from=build /app/services/worker/dist services/worker/dist
# Writable places for the non-root user; a named volume mounted on one of them starts with this owner.
RUN mkdir -p /srv/media/inbox /var/lib/vod-ingest/emulator /app/.data \
 && chown -R node:node /srv/media/inbox /var/lib/vod-ingest /app/.data
USER node

# Late, so every layer above is shared by the four service images.
ARG SERVICE=api
ENV SERVICE=${SERVICE}
EXPOSE 3000 3001 3002 9100
# The slim image has no curl: Node's fetch checks /healthz on the service's port (PORT, else its default).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=5 \
  CMD node -e "const p=process.env.PORT||{api:3000,token:3001,worker:3002,emulator:9100}[process.env.SERVICE];fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# exec: node replaces the shell as PID 1, so SIGTERM from `docker stop` reaches the service's own
# shutdown handler (workers hand their jobs back at a part boundary). Young-generation size as in
# serviceNodeFlags (shared/src/testing/service-process.ts): 16 MB for the api, 2 MB for the rest.
CMD exec node --enable-source-maps --max-semi-space-size=$([ "$SERVICE" = api ] && echo 16 || echo 2) "services/${SERVICE}/dist/main.js"
