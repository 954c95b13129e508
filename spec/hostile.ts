// The hostile requests of issue 9, as a public API client (no credentials)
// sends them: each with the error it must get. spec/integration/hostile.test.ts
// checks the errors; scripts/attacks.ts times them against a running serve
// while another client keeps asking list_collections.
import type { ErrorCode } from "../protocol/errors.js";
import { Names } from "../protocol/subjects.js";
import type { VecbusClient } from "../runtime/client.js";
import { decode, encode } from "../runtime/codec.js";
import { unwrapReply } from "../runtime/envelope.js";
import { CLIENT_TIMEOUT_MS } from "./timeouts.js";

export const HOSTILE_COLLECTION = "hostile";
export const DIM = 4;

export interface Hostile {
  name: string;
  /** The error code it must get; "ok" where a right answer is the point (a pattern that used to backtrack). */
  expect: ErrorCode | "ok";
  /** Builds the request (outside any timing) and returns what sends it. */
  prepare(c: VecbusClient): () => Promise<unknown>;
}

function nested(levels: number, inner: unknown, wrap: (v: unknown) => unknown): unknown {
  let v = inner;
  for (let i = 0; i < levels; i++) v = wrap(v);
  return v;
}

/** MessagePack of a value nested `levels` deep, written byte by byte: encoders (this one's too) overflow their stack long before. */
function deepBytes(levels: number, kind: "map" | "list"): Uint8Array {
  const level = kind === "list" ? [0x91] : [0x81, ...encode("k")];
  const out = new Uint8Array(levels * level.length + 1);
  for (let i = 0; i < levels; i++) out.set(level, i * level.length);
  out[out.length - 1] = 0x01;
  return out;
}

/** An insert of one row whose `field` holds the given MessagePack bytes, sent as raw bytes. */
function rawInsert(c: VecbusClient, field: string, value: Uint8Array): () => Promise<unknown> {
  const parts = [
    [0x82],
    encode("collection_name"),
    encode(HOSTILE_COLLECTION),
    encode("data"),
    [0x91, 0x83],
    encode("id"),
    encode(1_000_000),
    encode("vector"),
    encode(vector),
    encode(field),
    value,
  ].map((p) => Uint8Array.from(p));
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return async () => unwrapReply(decode((await c.nc.request(new Names().apiSubject("insert"), body, { timeout: CLIENT_TIMEOUT_MS })).data));
}

const vector = [0.1, 0.2, 0.3, 0.4];
const insert = (c: VecbusClient, row: Record<string, unknown>) => () => c.insert({ collection_name: HOSTILE_COLLECTION, data: [{ id: 1_000_000, vector, ...row }] });
const query = (c: VecbusClient, filter: string, extra: Record<string, unknown> = {}) => () =>
  c.query({ collection_name: HOSTILE_COLLECTION, filter, output_fields: ["id"], limit: 10, ...extra } as never);

/** Makes the collection the requests run on: a dynamic-field collection with a JSON field and a long string row. */
export async function prepareHostile(c: VecbusClient): Promise<void> {
  await c.create_collection({
    collection_name: HOSTILE_COLLECTION,
    schema: {
      fields: [
        { name: "id", type: "Int64", is_primary: true },
        { name: "vector", type: "FloatVector", dim: DIM },
        { name: "doc", type: "JSON", nullable: true },
        { name: "name", type: "VarChar", max_length: 4096, nullable: true },
      ],
      enable_dynamic_field: true,
    },
  });
  await c.insert({
    collection_name: HOSTILE_COLLECTION,
    data: [
      { id: 1, vector, name: "a".repeat(3000) },
      { id: 2, vector, name: "x".repeat(16) },
    ],
  });
}

export const HOSTILE: Hostile[] = [
  { name: "3000-deep map in a dynamic field", expect: "INVALID_FIELD_VALUE", prepare: (c) => rawInsert(c, "extra", deepBytes(3000, "map")) },
  { name: "3000-deep list in a JSON field", expect: "INVALID_FIELD_VALUE", prepare: (c) => rawInsert(c, "doc", deepBytes(3000, "list")) },
  { name: "65-deep list in a JSON field (one past the limit)", expect: "INVALID_FIELD_VALUE", prepare: (c) => insert(c, { doc: nested(65, 1, (v) => [v]) }) },
  // Deeper than the MessagePack decoder recurses: refused as a body it cannot read.
  { name: "100,000-deep list in a JSON field", expect: "MALFORMED_REQUEST", prepare: (c) => rawInsert(c, "doc", deepBytes(100_000, "list")) },
  { name: "NaN in a JSON field", expect: "INVALID_FIELD_VALUE", prepare: (c) => insert(c, { doc: { a: NaN } }) },
  { name: "Infinity in a dynamic field", expect: "INVALID_FIELD_VALUE", prepare: (c) => insert(c, { extra: Infinity }) },
  { name: "1 MB string in a JSON field", expect: "INVALID_FIELD_VALUE", prepare: (c) => insert(c, { doc: { s: "x".repeat(1 << 20) } }) },
  { name: 'name like "%%%…x" (3000 %)', expect: "ok", prepare: (c) => query(c, `name like "${"%".repeat(3000)}x"`) },
  { name: 's like "%a%a%b" on a 3000-character value', expect: "ok", prepare: (c) => query(c, 'name like "%a%a%b"') },
  { name: "12 % on a 16-character value", expect: "ok", prepare: (c) => query(c, `name like "${"%x".repeat(12)}"`) },
  { name: "5000 nested parentheses", expect: "FILTER_SYNTAX", prepare: (c) => query(c, `${"(".repeat(5000)}id > 0${")".repeat(5000)}`) },
  { name: "100,000 !", expect: "FILTER_SYNTAX", prepare: (c) => query(c, `${"!".repeat(100_000)}(id > 0)`) },
  { name: "50,000-term and chain", expect: "FILTER_SYNTAX", prepare: (c) => query(c, Array.from({ length: 50_000 }, (_, i) => `id != ${i}`).join(" and ")) },
  { name: "id in [500,000 ints]", expect: "FILTER_SYNTAX", prepare: (c) => query(c, `id in [${Array.from({ length: 500_000 }, (_, i) => i).join(",")}]`) },
  {
    name: "id in {ids} with 500,000 template values",
    expect: "FILTER_SYNTAX",
    prepare: (c) => query(c, "id in {ids}", { filter_params: { ids: Array.from({ length: 500_000 }, (_, i) => i) } }),
  },
  {
    name: "Session read with guarantee_timestamp 2^63",
    expect: "INVALID_ARGUMENT",
    prepare: (c) => () => c.call("get", { collection_name: HOSTILE_COLLECTION, ids: [1], consistency_level: "Session", guarantee_timestamp: 1n << 63n }),
  },
];
