# The omnimeter image for docker-compose: worker, generator and CLI.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY omnimeter omnimeter
COPY streams streams
COPY schemas schemas
COPY sinks sinks
COPY pricing pricing
COPY reports reports
RUN pip install --no-cache-dir .
ENV OMNIMETER_DATA_DIR=/data OMNIMETER_METRICS_HOST=0.0.0.0
ENTRYPOINT ["omnimeter"]
CMD ["worker", "--loglevel", "info"]
