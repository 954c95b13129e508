#!/usr/bin/env bash
# Line and branch coverage of the non-test code, per top folder. Measured on
# tsc's JavaScript with source maps: node's own coverage and c8 over tsx's
# on-the-fly transform both report wrong figures for TypeScript.
# Extra arguments pick spec files (default: every spec, like `npm test`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
OUT=coverage/build

rm -rf coverage
tsc -p tsconfig.coverage.json
# Fixtures the specs open next to themselves (spec/interop/raw_client.py).
(cd spec && find . -type f ! -name '*.ts' -exec cp --parents -t "../$OUT/spec" {} +)
# Tests spawn `node --import tsx cli/main.ts` in the folder above spec/, here
# $OUT. This stub hands those children the compiled CLI (tsx leaves plain .js
# untouched), so what they run is counted and mapped like the rest. It imports
# through a symlink because tsx turns "./main.js" from a .ts file into
# "./main.ts", the stub itself; node resolves the link to main.js.
ln -s main.js "$OUT/cli/main.compiled.js"
echo 'import "./main.compiled.js";' > "$OUT/cli/main.ts"

if [ $# -gt 0 ]; then
  specs=("${@/#spec\//$OUT/spec/}")
  specs=("${specs[@]/%.ts/.js}")
else
  mapfile -t specs < <(find "$OUT/spec" -name '*.test.js' | sort)
fi
status=0
c8 node --test --test-concurrency=1 "${specs[@]}" || status=$?
node scripts/coverage-summary.mjs coverage/report/coverage-summary.json
exit $status
