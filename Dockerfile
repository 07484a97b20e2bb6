# syntax=docker/dockerfile:1
# Multi-stage image: build a wheel with its dependencies, run as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAYBRIDGE_ALEMBIC_DIR=/app/alembic \
    PAYBRIDGE_DATABASE_URL=sqlite+aiosqlite:////data/paybridge.db
# Fixed ids: Kubernetes' runAsNonRoot needs a numeric user (deploy/kubernetes runs as 10001).
RUN groupadd --system --gid 10001 paybridge \
    && useradd --system --uid 10001 --gid paybridge --home /app paybridge \
    && mkdir -p /app /data && chown paybridge:paybridge /data
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels paybridge && rm -rf /wheels
WORKDIR /app
COPY alembic ./alembic
COPY alembic.ini ./
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Production runs PostgreSQL: set PAYBRIDGE_DATABASE_URL and run `paybridge migrate` once per
# release (or `serve --migrate`); scale API and `paybridge worker` processes separately.
CMD ["paybridge", "serve", "--host", "0.0.0.0", "--port", "8000"]
