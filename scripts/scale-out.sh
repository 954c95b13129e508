#!/usr/bin/env bash
# Search throughput as query-node (and proxy) processes are added against
# one NATS server: for each N in $NODES (default "1 2 4") it starts
# `vecbus serve` (one process of every role) plus N-1 more query nodes and
# N-1 more proxies, runs `vecbus bench` against it, and prints one table row
# per N. Segments spread over the query nodes (the bench's collection has
# $SHARDS shards, so at least that many sealed segments). Needs `npm run
# build` first. Usage: scripts/scale-out.sh   (ROWS, DIM, QUERIES, SHARDS,
# NODES override the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-100000}
DIM=${DIM:-128}
QUERIES=${QUERIES:-2000}
SHARDS=${SHARDS:-4}
NODES=${NODES:-"1 2 4"}
VECBUS="node dist/cli/main.js"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_ready() { # file
  for _ in $(seq 1 600); do
    grep -q "ready" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  cat "$1" >&2
  exit 1
}

printf "%-12s %-8s %-12s %-10s %-10s %-8s\n" "query nodes" "proxies" "search QPS" "p50 ms" "p99 ms" "recall"
for n in $NODES; do
  dir=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  $VECBUS serve --data "$dir" --port "$port" >"$dir/serve.out" 2>"$dir/serve.err" &
  pids+=($!)
  wait_ready "$dir/serve.out"
  url="nats://127.0.0.1:$port"
  for i in $(seq 2 "$n"); do
    for role in query proxy; do
      $VECBUS start "$role" --server "$url" --data "$dir" --node-id "extra$i" >"$dir/$role$i.out" 2>"$dir/$role$i.err" &
      pids+=($!)
      wait_ready "$dir/$role$i.out"
    done
  done
  $VECBUS bench --nats-url "$url" --data "$dir" --rows "$ROWS" --dim "$DIM" --queries "$QUERIES" --shards "$SHARDS" --json >"$dir/bench.json" 2>"$dir/bench.err"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const s = r.phases.find((p) => /^search, \d+ in flight$/.test(p.phase) && !/^search, 1 in flight$/.test(p.phase));
    const n = process.argv[2];
    console.log([n.padEnd(12), n.padEnd(8), String(s.per_second).padEnd(12), String(s.p50_ms).padEnd(10), String(s.p99_ms).padEnd(10), s.recall].join(" "));
  ' "$dir/bench.json" "$n"
  cleanup
  pids=()
  rm -rf "$dir"
done
