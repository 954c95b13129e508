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
