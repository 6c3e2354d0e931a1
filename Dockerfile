# syntax=docker/dockerfile:1
# One image, four commands (see docker-compose.yml):
#   node api/server.ts   node workers/main.ts   node workers/heavy.ts   node workers/ai.ts
# Node 24 runs the TypeScript sources directly (type stripping); only the workflow bundle is built.
#
# `npm install`, not `npm ci`: the registry in use lacks some optional platform packages that the
# lockfile lists, and `npm ci` refuses to continue without them.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# --- build: all dependencies, bundle the workflows into dist/workflow-bundle.js ----------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
# `npm run build` goes through scripts/moviola.sh (which provisions dev services); in the image we
# call its bundling step directly: scripts/build.ts -> dist/workflow-bundle.js.
RUN node scripts/build.ts && test -s "$WORKFLOW_BUNDLE_PATH" \
 && rm -rf node_modules test bench .data .tools

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe \
    API_HOST=0.0.0.0 \
    API_PORT=3000
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app ./
# Application files stay root-owned and read-only to the process; it runs as the image's
# unprivileged `node` user (uid 1000) and writes nothing under /app (media goes to S3 / temp dirs).
USER node
EXPOSE 3000 9464
CMD ["node", "api/server.ts"]
