// Partitions are a label on each row, not separate storage: a row carries its
// partition name under PARTITION_FIELD from the proxy to the WAL and the
// segment, and reads restricted to some partitions skip the other rows.
import { VecbusError } from "./errors.js";
import type { Expr } from "./filter/ast.js";
import { hashKey } from "./sharding.js";
import type { PrimaryKey, Row } from "./rows.js";
import { int64Of } from "./schema.js";

export const PARTITION_FIELD = "$partition";
export const DEFAULT_PARTITION = "_default";
export const PARTITIONS_MAX = 1024;
export const PARTITION_KEY_PARTITIONS_DEFAULT = 16;

/** The partition a row is in; rows written before partitions existed are in _default. */
export function partitionOf(row: Row): string {
  return (row[PARTITION_FIELD] as string | undefined) ?? DEFAULT_PARTITION;
}

/** With a partition key field, partitions are numbered and rows are routed by the key's hash. */
export function partitionKeyPartition(value: unknown, numPartitions: number): string {
  const key: PrimaryKey = typeof value === "string" || typeof value === "number" || typeof value === "bigint" ? value : JSON.stringify(value ?? null);
  return `${DEFAULT_PARTITION}_${hashKey(key) % numPartitions}`;
}

export function partitionKeyNames(numPartitions: number): string[] {
  return Array.from({ length: numPartitions }, (_, i) => `${DEFAULT_PARTITION}_${i}`);
}

export function unknownPartition(collection: string, name: string): VecbusError {
  return new VecbusError("PARTITION_NOT_FOUND", `partition "${name}" does not exist in collection "${collection}"; list_partitions shows the ones that do`);
}

/**
 * The key partitions a filter can match, or undefined when it may match any:
 * `key == v`, `key in [...]`, and `and` / `or` of those. A search or query on
 * a partition-key collection reads only these partitions.
 */
export function prunePartitions(expr: Expr, keyField: string, numPartitions: number): Set<string> | undefined {
  const isKey = (e: Expr) => e.kind === "field" && e.name === keyField && e.path.length === 0;
  // Only values a key can hold prune; anything else (1.5, true, a list) leaves the filter to reject or match nothing.
  const keyLike = (v: unknown) => typeof v === "string" || int64Of(v) !== undefined;
  // The key's own form (int64Of), as inserts hash it: a bigint rounded to a double would name another partition.
  const of = (values: unknown[]) => (values.every(keyLike) ? new Set(values.map((v) => partitionKeyPartition(typeof v === "string" ? v : int64Of(v), numPartitions))) : undefined);
  switch (expr.kind) {
    case "compare":
      if (expr.op !== "==") return undefined;
      if (isKey(expr.left) && expr.right.kind === "literal") return of([expr.right.value]);
      if (isKey(expr.right) && expr.left.kind === "literal") return of([expr.left.value]);
      return undefined;
    case "in":
      return !expr.negated && isKey(expr.operand) ? of(expr.values) : undefined;
    case "logical": {
      const l = prunePartitions(expr.left, keyField, numPartitions);
      const r = prunePartitions(expr.right, keyField, numPartitions);
      if (expr.op === "and") return l && r ? new Set([...l].filter((p) => r.has(p))) : (l ?? r);
      return l && r ? new Set([...l, ...r]) : undefined;
    }
    default:
      return undefined;
  }
}
