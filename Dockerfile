# The worker, retention worker, API, sandbox and CLI image (docker-compose.yml runs it with different commands).
#
# Two stages. `deps` installs exactly the lock file's production dependencies (`npm ci --omit=dev`: no test
# runner, linter, type checker or browser driver in the image). The runtime stage takes those and the source
# folders the processes run, nothing else: no .env, key, .data or .git can reach it (and .dockerignore keeps
# them out of the build context as well). Files belong to root; the processes run as the unprivileged `node`.
#
# The code runs from its TypeScript sources through tsx, which is therefore a production dependency, rather
# than compiled by tsc in a build stage: the processes find migrations/ and the workflow sources relative to
# their own files (lib/config.ts repoRoot; a worker bundles workflows/*.ts at start with Temporal's bundler),
# and tsconfig.json is written for type checking only (noEmit, module "preserve"); a compiled layout would
# move all of that for no gain at run time. tsx and esbuild are the only build tools the image carries.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM node:20-bookworm-slim
# Production refusals apply (lib/config.ts): a container that is not told otherwise is production.
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY contracts ./contracts
COPY lib ./lib
COPY store ./store
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY decryptor ./decryptor
COPY workers ./workers
COPY scripts ./scripts
COPY provider-sandbox ./provider-sandbox
COPY migrations ./migrations
USER node
CMD ["node", "--import", "tsx", "workers/run-fulfillment.ts"]
