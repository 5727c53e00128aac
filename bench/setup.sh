#!/usr/bin/env bash
# Install what `make bench` needs and the machine lacks: nginx and wrk from Debian,
# copyparty, matplotlib and py-spy in bench/.venv, @tus/server in bench/node.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the nginx it installs; the benchmark starts its own.
  if [[ " ${missing[*]} " == *" nginx "* ]]; then service nginx stop >/dev/null 2>&1 || true; fi
fi
if [ ! -x .venv/bin/python ] || [ requirements.txt -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  touch .venv/.installed
fi
if [ ! -d node/node_modules/@tus/server ] || [ node/package-lock.json -nt node/node_modules ]; then
  (cd node && npm ci --no-audit --no-fund --silent)
fi
