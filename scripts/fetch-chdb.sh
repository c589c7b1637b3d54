#!/usr/bin/env bash
# Fetches the ClickHouse engine (chDB's libchdb.so) from the npm registry into a cache
# outside the repository. Prints the path of libchdb.so. Idempotent: a cached copy is reused.
set -euo pipefail
CHDB_PKG="${VIGIL_CHDB_PACKAGE:-@chdb/lib-linux-x64-gnu@26.7.3-stable.1}"
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/chdb/$(echo "$CHDB_PKG" | tr '/@' '__')"
LIB="$CACHE/package/lib/libchdb.so"
if [[ -f "$LIB" && -f "$CACHE/.complete" ]]; then echo "$LIB"; exit 0; fi
mkdir -p "$CACHE"
tmp="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "$CHDB_PKG" >&2 )
tgz="$(ls "$tmp"/*.tgz | head -1)"
rm -rf "$CACHE/package"
tar -xzf "$tgz" -C "$CACHE"
found="$(find "$CACHE/package" -name 'libchdb.so' | head -1)"
if [[ -z "$found" ]]; then echo "libchdb.so not found in $CHDB_PKG" >&2; exit 1; fi
if [[ "$found" != "$LIB" ]]; then mkdir -p "$(dirname "$LIB")"; ln -sf "$found" "$LIB"; fi
touch "$CACHE/.complete"
echo "$LIB"
