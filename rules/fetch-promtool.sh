#!/usr/bin/env bash
# Fetches promtool from Debian's `prometheus` package (2.42) without installing it: the .deb is
# downloaded with `apt-get download` into a cache outside the repository and unpacked with
# `dpkg -x`. No service is started, nothing is installed system-wide. Idempotent: a second run
# only prints the path. Prints the absolute path of the promtool binary on stdout.
#
#   rules/fetch-promtool.sh            # -> /home/me/.cache/vigil/promtool/root/usr/bin/promtool
#   VIGIL_PROMTOOL_CACHE=/tmp/x rules/fetch-promtool.sh
set -euo pipefail

cache="${VIGIL_PROMTOOL_CACHE:-${HOME}/.cache/vigil/promtool}"
bin="${cache}/root/usr/bin/promtool"

if [[ -x "${bin}" ]]; then
  echo "${bin}"
  exit 0
fi

mkdir -p "${cache}"
cd "${cache}"
if ! ls prometheus_*.deb >/dev/null 2>&1; then
  if ! apt-get download prometheus >&2; then
    echo "apt-get download failed; running apt-get update and retrying" >&2
    if [[ "$(id -u)" == 0 ]]; then apt-get update >&2; else sudo -n apt-get update >&2; fi
    apt-get download prometheus >&2
  fi
fi
deb="$(ls -1 prometheus_*.deb | head -n 1)"
rm -rf root.tmp
dpkg -x "${deb}" root.tmp
rm -rf root
mv root.tmp root
if [[ ! -x "${bin}" ]]; then
  echo "promtool not found in ${deb}" >&2
  exit 1
fi
echo "${bin}"
