// Int64 over its whole range (issue 12): primary keys, an Int64 field and
// JSON integers beyond 2^53 (Milvus auto ids look like 450072488481390592)
// are stored, filtered, searched, deleted and returned exactly, before and
// after the rows are sealed into a segment. The client returns a bigint
// where a value is beyond ±(2^53 − 1), a number elsewhere. What each read
// must return is computed here with BigInt over the rows the test wrote.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { eventually } from "../timeouts.js";

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);
/** Up to 2^53 an Int64 travels back as a number, beyond as a bigint. */
const EXACT = 2n ** 53n;
/** Keys around the edges: the int64 ends, both sides of 2^53, a Milvus-like auto id, small ones. */
const KEYS = [MAX, MIN, EXACT, EXACT + 1n, -EXACT - 1n, 450072488481390592n, 450072488481390593n, 2n ** 62n + 7n, 1n, 0n, -5n, 123456789n];

/** How the client hands back an Int64: a number while exact as one, else a bigint. */
const wire = (v: bigint): number | bigint => (v >= -EXACT && v <= EXACT ? Number(v) : v);

interface Written {
  id: bigint;
  big: bigint;
  doc: { n: bigint };
  vector: number[];
}

const rows: Written[] = KEYS.map((id, i) => ({ id, big: id === MIN ? MAX : -id + 3n, doc: { n: 2n ** 60n + BigInt(i) }, vector: [i, 1, 0, 0] }));
const toWire = (r: Written) => ({ id: wire(r.id), big: wire(r.big), doc: { n: wire(r.doc.n) }, vector: r.vector });
/** Ascending order over numbers and bigints alike. */
const ascending = (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0);
const byId = (a: { id?: unknown }, b: { id?: unknown }) => ascending(a.id as number | bigint, b.id as number | bigint);
const ids = (list: Written[]) => list.map((r) => wire(r.id)).sort(ascending);
const sorted = (got: Record<string, unknown>[]) => got.map((r) => r.id as number | bigint).sort(ascending);

describe("int64", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "int64" });
    await env.client.create_collection({
      collection_name: "big",
      num_shards: 2,
      schema: {
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "big", type: "Int64" },
          { name: "doc", type: "JSON" },
          { name: "vector", type: "FloatVector", dim: 4 },
        ],
      },
      index_params: [{ field_name: "vector", index_type: "AUTOINDEX", metric_type: "L2" }],
    });
    const res = await env.client.insert({ collection_name: "big", data: rows.map(toWire) });
    assert.deepEqual(res.ids, rows.map((r) => wire(r.id)), "insert returns the keys exactly");
  });
  after(async () => env?.close());

  const reads = async (phase: string) => {
    const c = env.client;
    const strong = { collection_name: "big", consistency_level: "Strong" as const };
    const got = await c.get({ ...strong, ids: KEYS.map(wire), output_fields: ["big", "doc"] });
    assert.deepEqual(
      [...got].sort(byId),
      [...rows].sort(byId).map((r) => ({ id: wire(r.id), big: wire(r.big), doc: { n: wire(r.doc.n) } })),
      `${phase}: get returns every value exactly`,
    );
    const cases: [string, (r: Written) => boolean][] = [
      [`id == ${MAX}`, (r) => r.id === MAX],
      [`id == ${EXACT + 1n}`, (r) => r.id === EXACT + 1n],
      [`id > ${EXACT}`, (r) => r.id > EXACT],
      [`id < ${-EXACT}`, (r) => r.id < -EXACT],
      [`id >= ${EXACT}`, (r) => r.id >= EXACT],
      [`id in [${MIN}, 450072488481390593, 1]`, (r) => [MIN, 450072488481390593n, 1n].includes(r.id)],
      [`big >= ${2n ** 62n} or big == ${MAX}`, (r) => r.big >= 2n ** 62n || r.big === MAX],
      [`doc["n"] == ${2n ** 60n + 5n}`, (r) => r.doc.n === 2n ** 60n + 5n],
      [`doc["n"] > ${2n ** 60n + 8n}`, (r) => r.doc.n > 2n ** 60n + 8n],
    ];
    for (const [filter, keep] of cases) {
      const want = ids(rows.filter(keep));
      assert.deepEqual(sorted(await c.query({ ...strong, filter, output_fields: ["id"] })), want, `${phase}: ${filter}`);
    }
    const templated = await c.query({ ...strong, filter: "id == {k}", filter_params: { k: 450072488481390592n }, output_fields: ["id"] });
    assert.deepEqual(templated, [{ id: 450072488481390592n }], `${phase}: a bigint filter parameter`);
    const hits = await c.search({ ...strong, data: [[5, 1, 0, 0]], limit: 3, output_fields: ["big"] });
    assert.deepEqual(
      hits[0].map((h) => [h.id, h.entity.big]),
      [5, 4, 6].map((i) => [wire(rows[i].id), wire(rows[i].big)]),
      `${phase}: search returns the keys and values exactly`,
    );
  };

  test("int64 - keys, an Int64 field and JSON integers beyond 2^53 are exact in get, filters and search, growing and sealed", async () => {
    await reads("growing");
    await env.client.flush({ collection_name: "big" });
    // Served by the query node: the segment read back from its blob, keys decoded from the file's int64 column.
    await eventually("every sealed segment served by a query node", async () => {
      const sealed = (await env.client.status()).segments.filter((s) => s.collection_name === "big" && s.segment_id !== null);
      return sealed.length === 2 && sealed.every((s) => /^query \S+$/.test(s.served_by));
    });
    await reads("sealed");
  });

  test("int64 - delete and upsert by keys beyond 2^53; values outside int64 or not integers are refused", async () => {
    const c = env.client;
    const strong = { collection_name: "big", consistency_level: "Strong" as const };
    assert.equal((await c.delete({ collection_name: "big", ids: [MAX, 450072488481390592n] })).delete_count, 2);
    await c.upsert({ collection_name: "big", data: [{ ...toWire(rows[2]), big: MIN }] });
    const left = await c.query({ ...strong, filter: `id > ${EXACT - 1n}`, output_fields: ["big"] });
    assert.deepEqual(
      [...left].sort(byId),
      [
        { id: wire(EXACT), big: MIN },
        { id: EXACT + 1n, big: wire(-(EXACT + 1n) + 3n) },
        { id: 450072488481390593n, big: -450072488481390590n },
        { id: 2n ** 62n + 7n, big: -(2n ** 62n) - 4n },
      ],
    );
    await rejectsWith(c.insert({ collection_name: "big", data: [{ ...toWire(rows[0]), id: 2.5 }] }), "INVALID_FIELD_VALUE", /field "id" must be an integer in/);
    await rejectsWith(c.insert({ collection_name: "big", data: [{ ...toWire(rows[0]), id: 0, big: 2n ** 63n }] }), "INVALID_FIELD_VALUE", /field "big" must be an integer in/);
    await rejectsWith(c.get({ ...strong, ids: [1.5] }), "INVALID_ARGUMENT", /ids\[0\] must be a 64-bit integer/);
  });

  test("int64 - a partition key beyond 2^53 routes its reads to the partition its rows went to", async () => {
    const c = env.client;
    await c.create_collection({
      collection_name: "pk",
      num_partitions: 16,
      schema: {
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "k", type: "Int64", is_partition_key: true },
          { name: "vector", type: "FloatVector", dim: 4 },
        ],
      },
      index_params: [{ field_name: "vector", index_type: "AUTOINDEX", metric_type: "L2" }],
    });
    const keys = [EXACT + 1n, 450072488481390593n, MAX, MIN + 1n, -EXACT - 3n];
    await c.insert({ collection_name: "pk", data: keys.map((k, id) => ({ id, k: wire(k), vector: [id, 0, 0, 0] })) });
    for (const [id, k] of keys.entries()) {
      const got = await c.query({ collection_name: "pk", filter: `k == ${k}`, output_fields: ["id"], consistency_level: "Strong" });
      assert.deepEqual(got, [{ id }], `k == ${k}`);
    }
    const listed = await c.query({ collection_name: "pk", filter: `k in [${keys.join(", ")}]`, output_fields: ["id"], consistency_level: "Strong" });
    assert.deepEqual(listed.map((r) => r.id).sort(), [0, 1, 2, 3, 4]);
  });
});
