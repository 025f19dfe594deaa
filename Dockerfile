# Fairway: the Node entrypoint (src/runtimes/node.ts), run by Node 26's own type stripping (no loader), started
# as `npm start` starts it: with scripts/typescript-loader.mjs preloaded and a compile cache filled at build time.
#
# No Docker engine runs in CI, so scripts/container-check.mjs replays this file instead:
# it reads the COPY, RUN, ENV, USER, HEALTHCHECK and CMD lines below and runs them. Keep to
# those simple forms, and run `node scripts/container-check.mjs` after changing anything here.

# node:26-slim: Node 26 (the current LTS; the same major as the node@26 devDependency, which
# the container check runs this image's commands on) on Debian slim. Slim rather than the full image: Fairway
# compiles no native addons, so it needs no compilers, python or curl, and the image is several
# hundred MB smaller. Debian (glibc) rather than Alpine (musl): Node's musl builds are only
# experimental-tier, and CI, where the container check replays this file, runs glibc too.
FROM node:26-slim

WORKDIR /app

# Dependencies first, so a change under src/ reuses the cached install layer.
# --omit=dev: production dependencies only (tsx is one, for Node 20 outside the image; Node 26 here never loads it).
# --legacy-peer-deps: valibot declares an optional peer dependency on typescript, which makes npm
# keep the typescript devDependency (and its 27 MB native compiler) despite --omit=dev. The flag
# also stops npm installing peers automatically: a peer that production code needs must be listed
# in "dependencies" itself. scripts/container-check.mjs fails on an installed devDependency.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --legacy-peer-deps && npm cache clean --force

# package.json (copied above) is needed at runtime too: "type": "module" makes the entrypoint ESM.
# Node strips the types of the erasable-only source itself and reads no tsconfig.json, so none is copied.
# Of scripts/, only the CMD's preload and the build step below (.dockerignore lets just these two in).
COPY scripts/typescript-loader.mjs scripts/fill-compile-cache.mjs ./scripts/
COPY src ./src

# Fills Node's compile cache (each module's stripped source and V8 code cache) now, so even the first start of a
# fresh container strips nothing: a start that finds every module there never loads Node's type stripper, which
# otherwise stays resident, about 30 MiB of an idle Fairway. Node keeps each uid's cache in its own subdirectory, so
# the script imports Fairway's modules (without starting it) as USER node's uid:gid, 1000:1000 in the node images,
# then leaves the directory owned by root and read-only: the app reads it but cannot modify its image. A source file
# changed after the build (a mounted or edited one) is stripped again at start, as without a cache; Node only fails,
# silently, to save it. Rebuilt whenever src/ changes, as it comes after COPY src.
RUN ["node", "scripts/fill-compile-cache.mjs", "/app/.node-compile-cache", "1000:1000"]

# NODE_COMPILE_CACHE: the directory filled above, where the CMD's preload reads the cache. Set only after that RUN:
# with it set, the RUN's own node (root) would add its own entries there as it exits.
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 NODE_COMPILE_CACHE=/app/.node-compile-cache

# The unprivileged user of the node images (uid 1000). The files above stay owned by root,
# so the running app cannot modify its own code.
USER node
EXPOSE 8080

# Liveness through node itself, as slim has no curl. Uses the same PORT as the app.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/lb/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# What `npm start` runs: node on the .ts file (Node 22.18+ strips types; no tsx CLI or loader) with the preload that
# turns the compile cache on (read from NODE_COMPILE_CACHE above) and narrows zod's locales to English, about 2 MiB.
# Exec form, so there is one process and no shell: node is PID 1 and gets the SIGTERM from `docker stop` itself.
# src/runtimes/node.ts handles SIGTERM and SIGINT: it stops accepting connections, lets in-flight responses finish,
# and exits 0.
CMD ["node", "--import", "./scripts/typescript-loader.mjs", "src/runtimes/node.ts"]
