// Every bound on what a request may contain, in one table: each has a default
// and an environment variable that overrides it (read once, at first use). The
// README's "Limits" table lists the same entries.

export const LIMITS = {
  filterLength: {
    env: "VECBUS_FILTER_MAX_LENGTH",
    default: 65_536,
    what: "characters in a filter expression",
  },
  filterDepth: {
    env: "VECBUS_FILTER_MAX_DEPTH",
    // The parser takes about a dozen stack frames per parenthesis and overflowed
    // node's default stack just under 1000 levels; 256 leaves room for callers.
    default: 256,
    what: "levels of nesting in a filter: parentheses, operators, chained and/or terms, nested arrays",
  },
  filterInList: {
    env: "VECBUS_FILTER_MAX_IN",
    default: 65_536,
    what: "values in one `in` / `not in` list (also from a template)",
  },
  jsonDepth: {
    env: "VECBUS_JSON_MAX_DEPTH",
    // Deep enough for any document a filter can address; far below what a recursive encoder overflows on.
    default: 64,
    what: "levels of nesting in a JSON field's value or a dynamic field's value (lists and maps)",
  },
  jsonBytes: {
    env: "VECBUS_JSON_MAX_BYTES",
    // Milvus's limit on one JSON value.
    default: 65_536,
    what: "bytes of one JSON field's value, or of a row's dynamic fields together, written as JSON",
  },
  guaranteeAheadMs: {
    env: "VECBUS_GUARANTEE_MAX_AHEAD_MS",
    // A write's timestamp is the oracle's clock; more than this ahead of the reader's clock is no write's.
    default: 5_000,
    what: "milliseconds a read's guarantee_timestamp may be ahead of the clock",
  },
  waitingReads: {
    env: "VECBUS_SHARD_MAX_WAITING_READS",
    default: 1_024,
    what: "reads one shard holds while they wait for their guarantee timestamp (they hold no request slot)",
  },
} as const satisfies Record<string, { env: string; default: number; what: string }>;

export type LimitName = keyof typeof LIMITS;

const resolved = new Map<LimitName, number>();

/** The limit's value: its environment variable when that is a positive integer, else its default. */
export function limit(name: LimitName): number {
  let v = resolved.get(name);
  if (v === undefined) {
    const raw = globalThis.process?.env[LIMITS[name].env];
    const n = raw === undefined ? NaN : Number(raw);
    v = Number.isSafeInteger(n) && n > 0 ? n : LIMITS[name].default;
    resolved.set(name, v);
  }
  return v;
}

/** The "at most N <what> (ENV_VAR)" phrase that error messages quote. */
export function limitText(name: LimitName): string {
  return `at most ${limit(name)} ${LIMITS[name].what.split(":")[0]} (${LIMITS[name].env})`;
}
