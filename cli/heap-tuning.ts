// How far V8 lets the old generation grow past what survived the last full
// collection before it starts the next one, for a process running actors.
// Inserts allocate half a megabyte of buffers per batch (the request, the WAL
// record, the client's outbound copy); with V8's own factor (~1.5× of a
// ~44 MB heap at 1M rows), each such burst started another marking cycle
// that freed almost nothing: 135–148 full collections in the 1M insert phase.
// At 3× the same phase had 27–33, and the serve process used 10% less CPU
// (5.6–5.8 s against 6.3–6.7 s in same-machine pairs). The price is a heap
// that may reach three times its live size between collections.
// V8 reads the flag whenever it sets a new limit, so setting it at start-up
// works; a value given on node's command line wins (node refuses the flag in
// NODE_OPTIONS).
import v8 from "node:v8";

export const HEAP_GROWING_PERCENT = 200;

export function tuneHeapGrowth(): void {
  const given = process.execArgv.some((a) => /heap[-_]growing[-_]percent/.test(a));
  if (!given) v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
