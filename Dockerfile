# The worker, retention worker, API, sandbox and CLI image (docker-compose.yml runs it with different commands).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --loglevel=error
COPY . .
USER node
CMD ["npx", "tsx", "workers/run-fulfillment.ts"]
