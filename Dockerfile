# syntax=docker/dockerfile:1
# The regression service's image: `infergate serve` (the entrypoint is the `infergate` bin, the
# command `serve`) on Node 24, as a numeric non-root user, with nothing but the installed package:
# the bundle (dist/), its dashboard assets and PGlite (bundled in the package). No sources, no
# build tools, no node_modules of the build. deploy/kubernetes runs it; docs/deploy.md says how.
#   docker build -t registry.example.com/platform/infergate:0.1.0 .
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: the sources' own build (npm ci, npm run build), then the package as `npm pack` makes
# it, installed the way users install it (npm install --global of the tarball, offline: it
# needs nothing but itself).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
  && npm pack --ignore-scripts --pack-destination /tmp \
  && npm install --global --offline --no-audit --no-fund --prefix /opt/infergate /tmp/infergate-*.tgz \
  && /opt/infergate/bin/infergate --version

# Runtime: Node 24 and the installed package.
FROM ${NODE_IMAGE} AS runtime
COPY --from=build /opt/infergate /opt/infergate
# The embedded database's folder, for `docker run` without DATABASE_URL (one container only);
# on a cluster the service uses Postgres (DATABASE_URL) and writes nothing to disk.
RUN mkdir -p /var/lib/infergate && chown 10001:10001 /var/lib/infergate
ENV PATH=/opt/infergate/bin:$PATH \
  INFERGATE_HOST=0.0.0.0 \
  INFERGATE_PORT=8080 \
  INFERGATE_DATA_DIR=/var/lib/infergate
# Numeric, so that Kubernetes' runAsNonRoot can check it (a user name it cannot).
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.INFERGATE_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["infergate"]
CMD ["serve"]
