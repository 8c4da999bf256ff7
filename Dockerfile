# One image for the API and the worker (and the one-shot migration job).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# a CJK font for shipping labels (addresses in Chinese)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY domain ./domain
COPY adapters ./adapters
COPY activities ./activities
COPY workflows ./workflows
COPY api ./api
COPY workers ./workers
COPY migrations ./migrations
COPY alembic.ini ./
RUN useradd --system --uid 10001 oms && mkdir -p /data && chown oms /data
USER oms
ENV OMS_HOME=/data
EXPOSE 8000
CMD ["python", "-m", "workers.api_server"]
