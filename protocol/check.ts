// Checked decoding: small composable checks that turn a decoded MessagePack
// value into a typed one or throw MALFORMED_REQUEST naming the path of what
// is wrong. Actors parse every message they receive through one of these
// (protocol/message-checks.ts), never through a cast, so a forged or
// corrupt message is refused before any handler sees it.
import { VecbusError } from "./errors.js";

export type Check<T> = (v: unknown, path: string) => T;

function fail(path: string, want: string, v: unknown): never {
  const got = v === null || v === undefined ? "nothing" : Array.isArray(v) ? "a list" : v instanceof Uint8Array ? "binary" : typeof v;
  throw new VecbusError("MALFORMED_REQUEST", `${path} must be ${want}, got ${got}`);
}

export const str: Check<string> = (v, path) => (typeof v === "string" ? v : fail(path, "a string", v));

export const bool: Check<boolean> = (v, path) => (typeof v === "boolean" ? v : fail(path, "a boolean", v));

export const num: Check<number> = (v, path) => (typeof v === "number" && Number.isFinite(v) ? v : fail(path, "a finite number", v));

/** A safe integer of 0 or more (counts, ids, sequences, epochs). */
export const nat: Check<number> = (v, path) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : fail(path, "an integer of 0 or more", v));

/** A uint64 (hybrid timestamps): msgpack gives a number when it fits 53 bits, a bigint above. */
export const u64: Check<bigint> = (v, path) => {
  if (typeof v === "bigint" && v >= 0n) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return fail(path, "an unsigned 64-bit integer", v);
};

/** Anything: for parts another check owns (rows are checked against the schema, filters by the parser). */
export const any: Check<unknown> = (v) => v;

export function lit<const L extends string>(...values: L[]): Check<L> {
  return (v, path) => ((values as unknown[]).includes(v) ? (v as L) : fail(path, `one of ${values.join(", ")}`, v));
}

export function arr<T>(item: Check<T>): Check<T[]> {
  return (v, path) => (Array.isArray(v) ? v.map((x, i) => item(x, `${path}[${i}]`)) : fail(path, "a list", v));
}

/** Absent and nil are both "not given" (clients of other languages send nil). */
export function opt<T>(check: Check<T>): Check<T | undefined> {
  return (v, path) => (v === undefined || v === null ? undefined : check(v, path));
}

/** A plain map: not a list, binary, or an object of some class (msgpackr decodes the reserved byte 0xc1 to one). */
export function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Nil stays null (a field whose type says `T | null`). */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, path) => (v === undefined || v === null ? null : check(v, path));
}

export const map: Check<Record<string, unknown>> = (v, path) => (isMap(v) ? v : fail(path, "a map", v));

export function record<T>(value: Check<T>): Check<Record<string, T>> {
  return (v, path) => Object.fromEntries(Object.entries(map(v, path)).map(([k, x]) => [k, value(x, `${path}.${k}`)]));
}

type Shape = Record<string, Check<unknown>>;
type Out<S extends Shape> = { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
  [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: Exclude<ReturnType<S[K]>, undefined>;
};

/** A map with these fields; other keys are dropped (a newer sender's additions do not reach the handler unchecked). */
export function obj<S extends Shape>(shape: S): Check<Out<S>> {
  return (v, path) => {
    const m = map(v, path);
    const out: Record<string, unknown> = {};
    for (const [k, check] of Object.entries(shape)) {
      const x = check(m[k], `${path}.${k}`);
      if (x !== undefined) out[k] = x;
    }
    return out as Out<S>;
  };
}

/** A union told apart by its `kind` field: one shape per kind. */
export function byKind<U extends { kind: string }>(shapes: { [K in U["kind"]]: Check<Extract<U, { kind: K }>> }): Check<U> {
  return (v, path) => {
    const kind = map(v, path).kind;
    if (typeof kind !== "string" || !Object.hasOwn(shapes, kind)) fail(`${path}.kind`, `one of ${Object.keys(shapes).join(", ")}`, kind);
    return (shapes as Record<string, Check<U>>)[kind as string](v, path);
  };
}
