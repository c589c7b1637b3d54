#!/usr/bin/env bash
# Validates every Grafana dashboard in dashboards/json/ against a JSON Schema generated from the
# Dashboard type of the @grafana/schema npm package (ts-json-schema-generator), with ajv.
# Exits non-zero naming the file and the JSON path of each error. Needs node + npm.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/@grafana/schema ] || [ ! -d node_modules/ajv ] || [ ! -d node_modules/ts-json-schema-generator ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error >&2; else npm install --no-audit --no-fund --loglevel=error >&2; fi
fi
mkdir -p .schema
types=node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts
if [ ! -f .schema/dashboard.schema.json ] || [ "$types" -nt .schema/dashboard.schema.json ]; then
  node_modules/.bin/ts-json-schema-generator --path "$types" --type Dashboard --no-type-check \
    --out .schema/dashboard.schema.json >&2
fi
exec node validate.mjs .schema/dashboard.schema.json json/*.json
