#!/usr/bin/env bash
# Installs what building and testing lade needs on Debian 12 (idempotent; run as root).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libcurl4-openssl-dev libarchive-dev nlohmann-json3-dev libcli11-dev libssl-dev catch2
  libsimdjson-dev libdeflate-dev zlib1g-dev python3
  time  # GNU time: the benchmark measures peak memory with it (bench/README.md)
)
# node and npm run the demo and the compatibility tests; keep an existing install.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
