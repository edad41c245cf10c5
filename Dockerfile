# The omnimeter image for docker-compose: worker, generator, CLI, reports API and dashboard.
FROM node:20-slim AS assets
WORKDIR /web
COPY reports/web/package.json reports/web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY omnimeter omnimeter
COPY streams streams
COPY schemas schemas
COPY sinks sinks
COPY pricing pricing
COPY reports reports
COPY --from=assets /web/node_modules reports/web/node_modules
RUN pip install --no-cache-dir .
ENV OMNIMETER_DATA_DIR=/data OMNIMETER_WORKER_HOST=0.0.0.0
ENTRYPOINT ["omnimeter"]
CMD ["worker", "--loglevel", "info"]
