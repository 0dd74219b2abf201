# syntax=docker/dockerfile:1
# One image for the three regwatch services (ingest, detector, alerts) and the one-shot setup job.
# The TypeScript sources run directly on Node 24 (type stripping), so there is no compile stage:
# the first stage installs production dependencies, the second is the small runtime.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall only fetches Node 24 for older hosts; this image already has it.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    REGWATCH_DATA_DIR=/var/lib/regwatch
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY cli ./cli
COPY shared ./shared
COPY services ./services
COPY dashboards ./dashboards
RUN mkdir -p /var/lib/regwatch && chown node:node /var/lib/regwatch
USER node
EXPOSE 8080 9464
# Overridden per service in docker-compose.yml; each service command is one the tests run outside Docker.
CMD ["node", "services/ingest/src/main.ts"]
