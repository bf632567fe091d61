# Gatehouse as a container image: one process, `gatehouse serve`, configured only by its
# environment (README, "Running in production"). Build and run:
#
#   docker build -t gatehouse .
#   docker run --rm --env-file gatehouse.env gatehouse migrate      # once per release
#   docker run -d --read-only --tmpfs /tmp --env-file gatehouse.env \
#       -v gatehouse-var:/var/lib/gatehouse -p 8000:8000 gatehouse
#
# compose.yaml runs the whole production layout (PostgreSQL, two instances, nginx).

# ---- build: compilers and headers stay in this stage -----------------------------------
FROM python:3.11-slim-bookworm AS build

# xmlsec's wheels bundle libxmlsec1; the headers and pkg-config let pip build it from source
# on an architecture without a wheel, against the same library the runtime stage carries.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config libxml2-dev libxmlsec1-dev libxmlsec1-openssl \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# Editable: `gatehouse migrate` and /readyz read the migrations from the source tree's
# alembic/ folder (broker/store/sql/migrate.py), which a wheel would not carry. Every
# dependency is pinned in pyproject.toml.
RUN pip install --upgrade pip && pip install -e . \
    && python -c "import lxml.etree, xmlsec; \
assert lxml.etree.LIBXML_VERSION == xmlsec.get_libxml_version(), 'lxml and xmlsec link different libxml2'" \
    && python -m compileall -q /app/broker /app/admin_portal /app/idp_simulator /app/alembic

# ---- runtime ----------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends libxmlsec1 libxmlsec1-openssl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 gatehouse \
    && useradd --system --uid 10001 --gid gatehouse --home-dir /var/lib/gatehouse \
        --shell /usr/sbin/nologin gatehouse \
    && install -d -o gatehouse -g gatehouse -m 0700 /var/lib/gatehouse

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

# The root file system can be mounted read-only (`--read-only`, `read_only: true`): the only
# places written are GATEHOUSE_VAR_DIR (a volume: the metrics files of `--workers N`) and
# /tmp (a tmpfs). Python writes no bytecode at run time; it was compiled at build.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEHOUSE_ENV=production \
    GATEHOUSE_LOG_FORMAT=json \
    GATEHOUSE_VAR_DIR=/var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
WORKDIR /app
USER gatehouse:gatehouse

EXPOSE 8000
# Liveness only: /healthz answers while the process serves HTTP. Load balancers should
# probe /readyz instead (database, schema revision, signing key).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# Inside a container, binding every interface is right: the container's network namespace
# is its own, and only the ports published or reachable on its network (the proxy's) are
# exposed. Outside a container keep the default, 127.0.0.1, behind your proxy.
ENTRYPOINT ["gatehouse"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
