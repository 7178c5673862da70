# syntax=docker/dockerfile:1

# Build stage: install the project and its runtime dependencies (no test or embedded extras)
# into a virtualenv that the runtime stage copies as a whole.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .


# Runtime stage: the virtualenv, an unprivileged user and nothing else.
FROM python:3.11-slim AS runtime

ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
ENV DEBUG=false
ENV PATH_DATA=/data

RUN groupadd --system --gid 10001 factsvc \
    && useradd --system --uid 10001 --gid factsvc --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin factsvc \
    && mkdir -p /data \
    && chown factsvc:factsvc /data

COPY --from=build /opt/venv /opt/venv

# A named volume first mounted on /data takes this directory's owner, so the app can write to it.
WORKDIR /data
USER 10001:10001

EXPOSE 8888
STOPSIGNAL SIGTERM
# The slim image has no curl: the interpreter probes the liveness endpoint itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/healthz', timeout=3)"]

CMD ["factsvc", "serve"]
