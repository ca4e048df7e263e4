# Clausewatch image: web (gunicorn), Celery worker and beat share it.
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH="/app/.venv/bin:$PATH" VAR_DIR=/app/var

# Chromium for documents whose pages are built by JavaScript (the browser fetcher).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-dejavu-core ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only-collectstatic-key ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input \
 && useradd --system --home /app clausewatch && mkdir -p /app/var && chown -R clausewatch /app/var
USER clausewatch

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
