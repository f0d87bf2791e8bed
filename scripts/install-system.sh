#!/usr/bin/env bash
# Install the Debian packages Borealis needs, only those missing. Idempotent; needs root.
#   scripts/install-system.sh          runtime: PostgreSQL 15 + extensions, Prometheus, Alertmanager
#   scripts/install-system.sh --test   also Chromium + chromedriver (UI tests) and postgres_exporter
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(postgresql-15 postgresql-contrib postgresql-15-pgaudit postgresql-15-pg-wait-sampling
          prometheus prometheus-alertmanager)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(chromium chromium-driver prometheus-postgres-exporter)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-system: missing Debian packages: ${missing[*]}; run as root (or install them)" >&2
    exit 1
  fi
  echo "install-system: installing ${missing[*]}"
  apt-get update -qq
  # Recommends would pull in node-exporter, avahi and smartmontools: not needed here.
  # policy-rc.d keeps the packaged services from starting; Borealis runs its own.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
