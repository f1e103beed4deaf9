#!/usr/bin/env bash
# What the specs drive besides Node: Debian's chromium (the browser specs, through playwright-core; never a
# downloaded browser build), a real redis-server (the shard specs), gcab and cabextract (real cabinets). `npm test`
# runs this first (pretest), so a fresh Debian machine needs nothing else: each missing package is installed with
# apt-get, through sudo when not root. Nothing is done when all are there.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v gcab >/dev/null || missing+=(gcab)
command -v cabextract >/dev/null || missing+=(cabextract)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "mlc-sim specs: installing Debian packages ${missing[*]} (apt-get)" >&2
as_root=$([ "$(id -u)" -eq 0 ] || echo sudo)
$as_root apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
