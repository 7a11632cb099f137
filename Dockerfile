# Tickerwatch image: web (daphne) by default; the same image runs the Celery
# worker and beat with another command (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tickerwatch \
    && mkdir -p /app/var /app/staticfiles \
    && DEBUG=1 python manage.py collectstatic --noinput \
    && chown -R tickerwatch:tickerwatch /app/var /app/staticfiles
USER tickerwatch

EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "config.asgi:application"]
