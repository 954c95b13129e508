// Compaction's data step: the live rows of several sealed segments as the
// columns of one. Dead slots are skipped in runs, so a segment with few
// deletes is copied in a few large block moves rather than row by row.
import { VecbusError } from "../protocol/errors.js";
import type { PrimaryKey } from "../protocol/rows.js";
import type { SegmentColumns } from "./segment-format.js";
import { VectorColumn } from "./vector-column.js";

export interface MergePart {
  columns: SegmentColumns;
  isDead: (slot: number) => boolean;
}

/** A half-open range of consecutive live slots of one part. */
type Run = [from: number, to: number];

/** The live rows of several sealed segments of one shard, as the columns of one new segment (source order, then slot order). Sources must share a schema (same column names/dims); throws VecbusError("INTERNAL", ...) otherwise. */
export function mergeColumns(parts: MergePart[]): SegmentColumns {
  if (parts.length === 0) throw new VecbusError("INTERNAL", "a segment merge needs at least one source segment");
  const first = parts[0].columns;
  for (const p of parts) assertSameSchema(first, p.columns);
  const runs = parts.map(liveRuns);
  const total = runs.reduce((n, rs) => n + rs.reduce((m, [a, b]) => m + b - a, 0), 0);

  const timestamps = new BigUint64Array(total);
  let at = 0;
  parts.forEach((p, i) => {
    for (const [a, b] of runs[i]) {
      timestamps.set(p.columns.timestamps.subarray(a, b), at);
      at += b - a;
    }
  });

  const scalars = new Map<string, unknown[]>();
  for (const name of first.scalars.keys()) scalars.set(name, gather(parts, runs, total, (c) => c.scalars.get(name)!));

  const vectors = new Map<string, VectorColumn>();
  for (const [name, { dim }] of first.vectors) {
    const data = new Float32Array(total * dim);
    let row = 0;
    parts.forEach((p, i) => {
      const src = p.columns.vectors.get(name)!;
      for (const [a, b] of runs[i]) {
        src.copyRows(a, b, data, row);
        row += b - a;
      }
    });
    vectors.set(name, VectorColumn.of(dim, data));
  }

  return {
    pk: { field: first.pk.field, type: first.pk.type, values: gather<PrimaryKey>(parts, runs, total, (c) => c.pk.values) },
    timestamps,
    scalars,
    vectors,
  };
}

function liveRuns(part: MergePart): Run[] {
  const runs: Run[] = [];
  const n = part.columns.pk.values.length;
  let start = -1;
  for (let slot = 0; slot <= n; slot++) {
    const live = slot < n && !part.isDead(slot);
    if (live && start < 0) start = slot;
    else if (!live && start >= 0) {
      runs.push([start, slot]);
      start = -1;
    }
  }
  return runs;
}

function gather<T>(parts: MergePart[], runs: Run[][], total: number, column: (c: SegmentColumns) => T[]): T[] {
  const out = new Array<T>(total);
  let at = 0;
  parts.forEach((p, i) => {
    const src = column(p.columns);
    for (const [a, b] of runs[i]) for (let s = a; s < b; s++) out[at++] = src[s];
  });
  return out;
}

function assertSameSchema(want: SegmentColumns, got: SegmentColumns): void {
  const mismatch = (what: string) => new VecbusError("INTERNAL", `segments to merge differ in ${what}`);
  if (got.pk.field !== want.pk.field || got.pk.type !== want.pk.type) throw mismatch("their primary key");
  if (!sameKeys(got.scalars, want.scalars)) throw mismatch("their scalar fields");
  if (!sameKeys(got.vectors, want.vectors)) throw mismatch("their vector fields");
  for (const [name, { dim }] of want.vectors) {
    if (got.vectors.get(name)!.dim !== dim) throw mismatch(`the dimension of vector field "${name}"`);
  }
}

function sameKeys(a: Map<string, unknown>, b: Map<string, unknown>): boolean {
  return a.size === b.size && [...a.keys()].every((k) => b.has(k));
}
