# Borealis in one image: cluster manager, writer, readers, storage segments, collector, UI.
# The Debian packages are those of scripts/install-system.sh (tests/unit/test_compose.py
# checks that the two lists agree). Built and run by compose.yaml.
FROM debian:12.8-slim

ENV DEBIAN_FRONTEND=noninteractive
# Runtime packages of scripts/install-system.sh, then what the image itself needs (Python).
# Recommends would pull in node-exporter, avahi and smartmontools: not needed here.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      postgresql-15 postgresql-contrib postgresql-15-pgaudit postgresql-15-pg-wait-sampling \
      prometheus prometheus-alertmanager \
      python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres

WORKDIR /opt/borealis
COPY pyproject.toml README.md ./
COPY core core
COPY cluster cluster
COPY collector collector
COPY alerts alerts
COPY dashboards dashboards
COPY borealis borealis
COPY scripts scripts
RUN python3 -m venv /opt/borealis/.venv \
 && /opt/borealis/.venv/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && mkdir -p /var/lib/borealis && chmod 0755 /var/lib/borealis

# Inside the container every service listens on all interfaces so the Prometheus and Grafana
# containers reach it; compose.yaml publishes the ports on the host's 127.0.0.1 only.
ENV PATH=/opt/borealis/.venv/bin:$PATH \
    BOREALIS_STATE_DIR=/var/lib/borealis \
    BOREALIS_LISTEN_HOST=0.0.0.0 \
    BOREALIS_ALLOW_NON_LOOPBACK_LISTEN=true
VOLUME ["/var/lib/borealis"]
# cluster endpoint, reader endpoint, UI, collector (/metrics), Performance Insights API
EXPOSE 25432 25433 25460 25491 25492
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python3", "-c", "import urllib.request as u; [u.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=4) for p in (25491, 25460)]"]
STOPSIGNAL SIGTERM
CMD ["borealis", "up"]
