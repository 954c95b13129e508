// The `vecbus` command, run as a child process the way users run it, against
// a real nats-server with every actor in the test process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import test from "node:test";
import { promisify } from "node:util";
import { freePort, stopOrphan } from "../../cli/nats-server.js";
import { alive } from "../../runtime/process-alive.js";
import { progress } from "../../cli/progress.js";
import { formatValue, table } from "../../cli/table.js";
import { startEnv, tempDir } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually } from "../timeouts.js";
import { ROOT, startServe, type ServeProcess } from "./serve-process.js";

const CLI = ["--import", "tsx", "cli/main.ts"];
const CHILD_ENV = { ...process.env, VECBUS_LOG: "warn" };
const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function vecbus(args: string[], natsUrl?: string): Promise<Run> {
  const argv = [...CLI, ...args, ...(natsUrl ? ["--nats-url", natsUrl] : [])];
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, argv, { cwd: ROOT, env: CHILD_ENV });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof err.code !== "number") throw e;
    return { code: err.code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

/** Runs a command with --json, expecting success. */
async function vecbusJson<T>(args: string[], natsUrl: string): Promise<T> {
  const r = await vecbus([...args, "--json"], natsUrl);
  assert.equal(r.code, 0, `vecbus ${args.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * A table as printed by the CLI, as records keyed by header. Column extents come
 * from the dashes under the headers, so blank cells read as "".
 */
function parseTable(text: string): Record<string, string>[] {
  const lines = text.split("\n");
  const dashesAt = lines.findIndex((l) => /^-+( +-+)*$/.test(l));
  assert.ok(dashesAt > 0, `no table in:\n${text}`);
  const cols: [number, number][] = [];
  for (const m of lines[dashesAt].matchAll(/-+/g)) cols.push([m.index, m.index + m[0].length]);
  const cells = (line: string) => cols.map(([a, b], i) => line.slice(a, i === cols.length - 1 ? undefined : b).trim());
  const headers = cells(lines[dashesAt - 1]);
  const body = lines.slice(dashesAt + 1);
  const end = body.findIndex((l) => l.trim() === "");
  return (end < 0 ? body : body.slice(0, end)).map((l) => Object.fromEntries(cells(l).map((c, i) => [headers[i], c])));
}

function writeJsonl(dir: string, name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

const DIM = 8;
const ROWS = 200;
const vectors = randomVectors(ROWS, DIM, 7);
const rowLines = vectors.map((vector, id) => JSON.stringify({ id, vector, tag: id % 2 === 0 ? "even" : "odd" }));

test("vecbus data and admin commands", async (t) => {
  // Only `flush` seals: the flush subtest counts the segments it wrote, which an idle seal (10 s by default) could take first on a slow run.
  const env = await startEnv({ tag: "cli", seal: { sealIdleMs: 600_000 } });
  const url = env.nats.url;
  try {
    await t.test("collection create, list, describe and drop with --json", async () => {
      const created = await vecbusJson<{ collection_name: string; num_shards: number }>(
        ["collection", "create", "scratch", "--dim", "3", "--id-type", "string", "--shards", "2"],
        url,
      );
      assert.equal(created.collection_name, "scratch");
      assert.equal(created.num_shards, 2);
      assert.ok((await vecbusJson<string[]>(["collection", "list"], url)).includes("scratch"));

      const described = await vecbusJson<{ schema: { fields: { name: string; type: string; dim?: number }[] } }>(["collection", "describe", "scratch"], url);
      assert.deepEqual(
        described.schema.fields.map((f) => [f.name, f.type, f.dim]),
        [
          ["id", "VarChar", undefined],
          ["vector", "FloatVector", 3],
        ],
      );
      const text = await vecbus(["collection", "describe", "scratch"], url);
      assert.match(text.stdout, /shards\s+2/);
      assert.match(text.stdout, /vector\s+FloatVector/);

      assert.deepEqual(await vecbusJson(["collection", "drop", "scratch"], url), { dropped: true });
      assert.ok(!(await vecbusJson<string[]>(["collection", "list"], url)).includes("scratch"));
    });

    await t.test("insert from a JSONL file, then stats", async () => {
      await vecbusJson(["collection", "create", "docs", "--dim", String(DIM), "--metric", "L2", "--shards", "2"], url);
      const file = writeJsonl(env.dataDir, "rows.jsonl", rowLines);
      const r = await vecbus(["insert", "docs", "--file", file, "--batch", "64", "--json"], url);
      assert.equal(r.code, 0, r.stderr);
      const reply = JSON.parse(r.stdout) as { insert_count: number; ids: number[] };
      assert.equal(reply.insert_count, ROWS);
      assert.equal(reply.ids.length, ROWS);
      assert.match(r.stderr, /inserted 200 rows in [\d.]+ s \(\d+ rows\/s\)/);
      assert.deepEqual(await vecbusJson(["collection", "stats", "docs"], url), { row_count: ROWS });
    });

    await t.test("search --json returns the nearest id first", async () => {
      const vector = JSON.stringify(vectors[42]);
      const results = await vecbusJson<{ id: number; distance: number; entity: { tag?: string } }[][]>(
        ["search", "docs", "--vector", vector, "--limit", "3", "--output-fields", "tag"],
        url,
      );
      assert.equal(results.length, 1);
      assert.equal(results[0].length, 3);
      assert.equal(results[0][0].id, 42);
      assert.equal(results[0][0].entity.tag, "even");
      const text = await vecbus(["search", "docs", "--vector", vector, "--limit", "1"], url);
      assert.match(text.stdout, /rank\s+id\s+distance/);
      assert.match(text.stdout, /\n\s+1\s+42\s/);
    });

    await t.test("query and get", async () => {
      const rows = await vecbusJson<{ id: number; tag: string }[]>(["query", "docs", "--filter", "id < 5", "--output-fields", "tag"], url);
      assert.deepEqual(
        rows.map((r) => [r.id, r.tag]),
        [
          [0, "even"],
          [1, "odd"],
          [2, "even"],
          [3, "odd"],
          [4, "even"],
        ],
      );
      const table = await vecbus(["query", "docs", "--filter", "id < 2", "--output-fields", "tag"], url);
      assert.match(table.stdout, /^id\s+tag\n/);

      const got = await vecbusJson<{ id: number; tag: string; vector: number[] }[]>(["get", "docs", "--ids", "7,3,9999"], url);
      assert.deepEqual(
        got.map((r) => [r.id, r.tag, r.vector.length]),
        [
          [7, "odd", DIM],
          [3, "odd", DIM],
        ],
        "without --output-fields, get returns every field",
      );
      const asJsonList = await vecbusJson<{ id: number; vector: number[] }[]>(["get", "docs", "--ids", "[5]", "--output-fields", "vector"], url);
      assert.equal(asJsonList[0].vector.length, DIM);
    });

    await t.test("delete by ids and by filter", async () => {
      const byIds = await vecbus(["delete", "docs", "--ids", "1,2"], url);
      assert.equal(byIds.code, 0, byIds.stderr);
      assert.equal(byIds.stdout.trim(), "deleted 2 rows");
      assert.equal((await vecbusJson<{ delete_count: number }>(["delete", "docs", "--filter", "id >= 190"], url)).delete_count, 10);
      assert.deepEqual(await vecbusJson(["get", "docs", "--ids", "1,2,3", "--output-fields", "id"], url), [{ id: 3 }]);
      assert.deepEqual(await vecbusJson(["collection", "stats", "docs"], url), { row_count: ROWS - 12 });
    });

    await t.test("flush writes the growing rows as a sealed segment", async () => {
      const r = await vecbusJson<{ flushed_segments: number }>(["flush", "docs"], url);
      assert.ok(r.flushed_segments >= 1);
      const s = await vecbusJson<{ shards: { collection_name: string; segments: number }[] }>(["status"], url);
      assert.ok(s.shards.filter((x) => x.collection_name === "docs").every((x) => x.segments >= 1));
      assert.deepEqual(await vecbusJson(["collection", "stats", "docs"], url), { row_count: ROWS - 12 }, "no row lost or doubled by the flush");
      const text = await vecbus(["status"], url);
      assert.match(text.stdout, /segments/);
    });

    await t.test("index create, describe until built, list, drop", async () => {
      // Quick setup declared AUTOINDEX; this test declares its own.
      assert.equal((await vecbus(["index", "drop", "docs", "vector"], url)).code, 0);
      const created = await vecbus(["index", "create", "docs", "--field", "vector", "--type", "HNSW", "--params", '{"M": 8}'], url);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /created index vector \(HNSW\)/);
      assert.deepEqual(await vecbusJson(["index", "list", "docs"], url), ["vector"]);
      let d: { index_type: string; state: string; indexed_rows: number; total_rows: number } | undefined;
      await eventually("the data node to build every flushed segment's index", async () => {
        d = await vecbusJson(["index", "describe", "docs"], url);
        return d!.state === "Finished";
      });
      assert.equal(d!.index_type, "HNSW");
      assert.equal(d!.indexed_rows, d!.total_rows);
      const bad = await vecbus(["index", "create", "docs", "--field", "vector", "--params", "[1]"], url);
      assert.equal(bad.code, 2);
      // A scalar index: no metric, nothing for data nodes to build.
      const scalar = await vecbus(["index", "create", "docs", "--field", "id", "--type", "STL_SORT", "--name", "id_sort"], url);
      assert.equal(scalar.code, 0, scalar.stderr);
      const sd = await vecbusJson<Record<string, unknown>>(["index", "describe", "docs", "--name", "id_sort"], url);
      assert.deepEqual([sd.field_name, sd.index_type, sd.metric_type, sd.state], ["id", "STL_SORT", undefined, "Finished"]);
      const wrong = await vecbus(["index", "create", "docs", "--field", "id", "--type", "HNSW", "--name", "x"], url);
      assert.match(wrong.stderr, /INVALID_ARGUMENT.*cannot index Int64 field "id"/);
      assert.deepEqual(await vecbusJson(["index", "list", "docs"], url), ["id_sort", "vector"]);
      assert.equal((await vecbus(["index", "drop", "docs", "id_sort"], url)).code, 0);
      assert.equal((await vecbus(["index", "drop", "docs", "vector"], url)).code, 0);
      assert.deepEqual(await vecbusJson(["index", "list", "docs"], url), []);
    });

    await t.test("status shows nodes and shards", async () => {
      const status = await vecbusJson<{ nodes: { role: string }[]; shards: { collection_name: string }[] }>(["status"], url);
      assert.deepEqual([...new Set(status.nodes.map((n) => n.role))].sort(), ["coordinator", "data", "proxy", "query", "streaming"]);
      assert.equal(status.shards.filter((s) => s.collection_name === "docs").length, 2);
      const text = await vecbus(["status"], url);
      assert.match(text.stdout, /^nodes\nrole\s+node\s+host\s+pid\s+up since/);
      assert.match(text.stdout, /\nshards\ncollection\s+shard\s+owner\s+epoch\s+rows\s+segments\s+wal stream\s+wal last seq/);
      assert.match(text.stdout, /\nsegments\ncollection\s+shard\s+segment\s+state\s+rows\s+deleted\s+index\s+served by/);
      const segments = parseTable(text.stdout.slice(text.stdout.indexOf("\nsegments\n") + "\nsegments\n".length));
      assert.ok(segments.some((x) => x.collection === "docs" && x.segment === "growing" && x.state === "Growing"));
      assert.ok(segments.some((x) => x.collection === "docs" && /^\d+$/.test(x.segment) && /^(streaming|query) /.test(x["served by"])));
    });

    await t.test("collection release, load, load-state, compact", async () => {
      const released = await vecbus(["collection", "release", "docs"], url);
      assert.equal(released.code, 0, released.stderr);
      assert.equal(released.stdout.trim(), "collection docs: NotLoad");
      const refused = await vecbus(["search", "docs", "--vector", JSON.stringify(Array.from({ length: DIM }, () => 0.1))], url);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /COLLECTION_NOT_LOADED.*load_collection/);
      assert.equal((await vecbus(["collection", "load", "docs"], url)).stdout.trim(), "collection docs: Loaded");
      assert.deepEqual(await vecbusJson(["collection", "load-state", "docs"], url), { state: "Loaded", progress: 100 });
      const replicas = await vecbus(["collection", "replicas", "docs"], url);
      assert.match(replicas.stdout, /^replica\s+query nodes\s+segments loaded\s+rows\s+shard leaders\n-+/);
      assert.equal(parseTable(replicas.stdout).length, 1);
      const tooMany = await vecbus(["collection", "load", "docs", "--replicas", "2"], url);
      assert.notEqual(tooMany.code, 0);
      assert.match(tooMany.stderr, /INVALID_ARGUMENT.*needs 2 live query nodes, 1 running/);
      const compacted = await vecbusJson<{ state: string; compaction_id: number }>(["collection", "compact", "docs", "--wait"], url);
      assert.equal(compacted.state, "Completed");
      assert.equal((await vecbusJson<{ state: string }>(["collection", "compaction-state", String(compacted.compaction_id)], url)).state, "Completed");
    });

    await t.test("partitions: create, list, has, write into one, read only it, drop", async () => {
      await vecbusJson(["collection", "create", "parted", "--dim", "3", "--metric", "L2"], url);
      const created = await vecbus(["partition", "create", "parted", "p1"], url);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout.trim(), "created partition p1 in parted");
      assert.deepEqual((await vecbusJson<string[]>(["partition", "list", "parted"], url)).sort(), ["_default", "p1"]);
      assert.deepEqual((await vecbus(["partition", "list", "parted"], url)).stdout.split("\n").filter(Boolean).sort(), ["_default", "p1"]);
      assert.equal(await vecbusJson(["partition", "has", "parted", "p1"], url), true);
      assert.equal(await vecbusJson(["partition", "has", "parted", "p2"], url), false);
      assert.match((await vecbus(["partition", "has", "parted", "p2"], url)).stdout, /^partition p2 does not exist in parted$/m);

      const row = (id: number) => JSON.stringify({ id, vector: [id, 0, 0], tag: `t${id}` });
      const inP1 = writeJsonl(env.dataDir, "p1.jsonl", [row(1), row(2), row(3)]);
      assert.equal((await vecbusJson<{ insert_count: number }>(["insert", "parted", "--file", inP1, "--partition", "p1"], url)).insert_count, 3);
      const inDefault = writeJsonl(env.dataDir, "default.jsonl", [row(10), row(11)]);
      assert.equal((await vecbusJson<{ insert_count: number }>(["insert", "parted", "--file", inDefault], url)).insert_count, 2);
      const upP1 = writeJsonl(env.dataDir, "p1-up.jsonl", [row(4)]);
      assert.equal((await vecbusJson<{ upsert_count: number }>(["upsert", "parted", "--file", upP1, "--partition", "p1"], url)).upsert_count, 1);

      const ids = (rows: { id: number }[]) => rows.map((r) => r.id);
      assert.deepEqual(ids(await vecbusJson(["query", "parted", "--filter", "id >= 0", "--partitions", "p1", "--consistency", "Strong"], url)), [1, 2, 3, 4]);
      assert.deepEqual(ids(await vecbusJson(["query", "parted", "--filter", "id >= 0", "--partitions", "_default"], url)), [10, 11]);
      assert.deepEqual(ids(await vecbusJson(["query", "parted", "--filter", "id >= 0", "--partitions", "p1,_default", "--consistency", "eventually"], url)), [1, 2, 3, 4, 10, 11]);
      assert.deepEqual(ids(await vecbusJson(["get", "parted", "--ids", "1,10", "--partitions", "p1"], url)), [1]);
      const hits = await vecbusJson<{ id: number }[][]>(["search", "parted", "--vector", "[10,0,0]", "--limit", "2", "--partitions", "p1", "--consistency", "Session"], url);
      assert.deepEqual(ids(hits[0]), [4, 3]);

      assert.equal((await vecbusJson<{ delete_count: number }>(["delete", "parted", "--ids", "1,10", "--partition", "p1"], url)).delete_count, 1);
      assert.deepEqual(ids(await vecbusJson(["get", "parted", "--ids", "1,10"], url)), [10]);

      const unknown = await vecbus(["query", "parted", "--filter", "id >= 0", "--partitions", "nope"], url);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /error PARTITION_NOT_FOUND: /);
      const badLevel = await vecbus(["query", "parted", "--filter", "id >= 0", "--consistency", "Sometimes"], url);
      assert.equal(badLevel.code, 2);
      assert.match(badLevel.stderr, /--consistency must be one of Strong, Bounded, Session, Eventually/);

      assert.deepEqual(await vecbusJson(["partition", "drop", "parted", "p1"], url), { dropped: true });
      assert.deepEqual(await vecbusJson(["partition", "list", "parted"], url), ["_default"]);
      assert.deepEqual(ids(await vecbusJson(["query", "parted", "--filter", "id >= 0"], url)), [10, 11]);
    });

    await t.test("aliases: create, describe, list, use as a collection name, alter, drop", async () => {
      await vecbusJson(["collection", "create", "aliased", "--dim", "3"], url);
      await vecbusJson(["collection", "create", "aliased2", "--dim", "3"], url);
      const file = writeJsonl(env.dataDir, "aliased.jsonl", [JSON.stringify({ id: 5, vector: [1, 2, 3], tag: "five" })]);
      await vecbusJson(["insert", "aliased", "--file", file], url);

      const created = await vecbus(["alias", "create", "current", "aliased"], url);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout.trim(), "created alias current -> aliased");
      assert.deepEqual(await vecbusJson(["alias", "describe", "current"], url), { alias: "current", collection_name: "aliased" });
      assert.match((await vecbus(["alias", "describe", "current"], url)).stdout, /^alias\s+current\ncollection\s+aliased$/m);
      assert.ok((await vecbusJson<{ aliases: string[] }>(["alias", "list"], url)).aliases.includes("current"));
      assert.deepEqual(await vecbusJson(["alias", "list", "--collection", "aliased"], url), { aliases: ["current"], collection_name: "aliased" });
      const listed = parseTable((await vecbus(["alias", "list"], url)).stdout);
      assert.ok(listed.some((r) => r.alias === "current" && r.collection === "aliased"), JSON.stringify(listed));

      assert.deepEqual(await vecbusJson(["get", "current", "--ids", "5", "--output-fields", "tag"], url), [{ id: 5, tag: "five" }]);
      assert.match((await vecbus(["collection", "describe", "aliased"], url)).stdout, /^aliases\s+current$/m);

      assert.deepEqual(await vecbusJson(["alias", "alter", "current", "aliased2"], url), { altered: true });
      assert.deepEqual(await vecbusJson(["alias", "describe", "current"], url), { alias: "current", collection_name: "aliased2" });
      assert.deepEqual(await vecbusJson(["get", "current", "--ids", "5"], url), []);
      assert.deepEqual(await vecbusJson(["alias", "list", "--collection", "aliased"], url), { aliases: [], collection_name: "aliased" });
      assert.equal((await vecbus(["alias", "list", "--collection", "aliased"], url)).stdout.trim(), "(no aliases)");

      assert.deepEqual(await vecbusJson(["alias", "drop", "current"], url), { dropped: true });
      const gone = await vecbus(["alias", "describe", "current"], url);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /error ALIAS_NOT_FOUND: /);
    });

    await t.test("collection rename", async () => {
      await vecbusJson(["collection", "create", "before", "--dim", "3"], url);
      const file = writeJsonl(env.dataDir, "before.jsonl", [JSON.stringify({ id: 1, vector: [1, 1, 1] })]);
      await vecbusJson(["insert", "before", "--file", file], url);
      const r = await vecbus(["collection", "rename", "before", "after"], url);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "renamed collection before to after");
      const names = await vecbusJson<string[]>(["collection", "list"], url);
      assert.ok(names.includes("after") && !names.includes("before"), names.join(","));
      assert.equal((await vecbusJson<{ collection_name: string }>(["collection", "describe", "after"], url)).collection_name, "after");
      assert.deepEqual(await vecbusJson(["get", "after", "--ids", "1", "--output-fields", "id"], url), [{ id: 1 }]);
      const again = await vecbusJson<{ collection_name: string }>(["collection", "rename", "after", "before"], url);
      assert.equal(again.collection_name, "before");
      const missing = await vecbus(["collection", "rename", "after", "x"], url);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /error COLLECTION_NOT_FOUND: /);
    });

    await t.test("create with a schema file: consistency, partition key, and describe's new columns", async () => {
      const schemaFile = path.join(env.dataDir, "schema.json");
      fs.writeFileSync(
        schemaFile,
        JSON.stringify({
          fields: [
            { name: "id", type: "Int64", is_primary: true },
            { name: "vector", type: "FloatVector", dim: 3 },
            { name: "tags", type: "Array", element_type: "VarChar", max_capacity: 4, max_length: 16 },
            { name: "note", type: "VarChar", max_length: 32, nullable: true },
            { name: "label", type: "VarChar", max_length: 8, default_value: "none" },
            { name: "tenant", type: "Int64", is_partition_key: true },
          ],
          enable_dynamic_field: false,
        }),
      );
      const created = await vecbus(["collection", "create", "rich", "--schema", schemaFile, "--consistency", "strong", "--partitions", "4"], url);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /created collection rich \(id \d+, 1 shard, 4 partitions, metric \w+, consistency Strong\)/);

      const d = await vecbusJson<{ consistency_level: string; num_partitions: number; aliases: string[] }>(["collection", "describe", "rich"], url);
      assert.equal(d.consistency_level, "Strong");
      assert.equal(d.num_partitions, 4);
      assert.deepEqual(d.aliases, []);
      assert.equal((await vecbusJson<string[]>(["partition", "list", "rich"], url)).length, 4);

      const text = (await vecbus(["collection", "describe", "rich"], url)).stdout;
      assert.match(text, /^consistency\s+Strong$/m);
      assert.match(text, /^partitions\s+4$/m);
      assert.match(text, /^aliases$/m);
      const fields = Object.fromEntries(parseTable(text).map((r) => [r.name, r]));
      const none = { dim: "", max_length: "", element_type: "", max_capacity: "", nullable: "", default: "", partition_key: "" };
      assert.deepEqual(fields.id, { ...none, name: "id", type: "Int64", primary: "true", auto_id: "false" });
      assert.deepEqual(fields.vector, { ...none, name: "vector", type: "FloatVector", primary: "false", auto_id: "false", dim: "3" });
      assert.deepEqual(fields.tags, {
        ...none,
        name: "tags",
        type: "Array",
        primary: "false",
        auto_id: "false",
        max_length: "16",
        element_type: "VarChar",
        max_capacity: "4",
      });
      assert.deepEqual(fields.note, { ...none, name: "note", type: "VarChar", primary: "false", auto_id: "false", max_length: "32", nullable: "true" });
      assert.deepEqual(fields.label, { ...none, name: "label", type: "VarChar", primary: "false", auto_id: "false", max_length: "8", default: '"none"' });
      assert.deepEqual(fields.tenant, { ...none, name: "tenant", type: "Int64", primary: "false", auto_id: "false", partition_key: "true" });

      const noKey = await vecbus(["collection", "create", "nokey", "--dim", "3", "--partitions", "4"], url);
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /--partitions needs a partition-key field/);
    });

    await t.test("search surface: anns field, offset, range, group-by, filter params, count, hybrid search", async () => {
      // Two vector fields on two shards. On vec_a row i lies at distance i² from the origin;
      // on vec_b at (b(i) - 5)² from [0,5,0,0], where b is a permutation of 0..39.
      const N = 40;
      const b = (i: number) => (i * 7) % N;
      const schemaFile = path.join(env.dataDir, "two-vectors.json");
      fs.writeFileSync(
        schemaFile,
        JSON.stringify({
          fields: [
            { name: "id", type: "Int64", is_primary: true },
            { name: "vec_a", type: "FloatVector", dim: 4 },
            { name: "vec_b", type: "FloatVector", dim: 4 },
            { name: "tag", type: "VarChar", max_length: 8 },
          ],
        }),
      );
      const created = await vecbusJson<{ num_shards: number }>(["collection", "create", "multi", "--schema", schemaFile, "--shards", "2", "--metric", "L2", "--consistency", "Strong"], url);
      assert.equal(created.num_shards, 2);
      const ids = Array.from({ length: N }, (_, i) => i);
      const file = writeJsonl(env.dataDir, "multi.jsonl", ids.map((i) => JSON.stringify({ id: i, vec_a: [i, 0, 0, 0], vec_b: [0, b(i), 0, 0], tag: `g${i % 4}` })));
      assert.equal((await vecbusJson<{ insert_count: number }>(["insert", "multi", "--file", file], url)).insert_count, N);

      type Hits = { id: number; distance: number; entity: { tag?: string } }[][];
      const hitIds = (r: Hits) => r[0].map((h) => h.id);
      const dA = (i: number) => i * i;
      const dB = (i: number) => (b(i) - 5) ** 2;
      const nearest = (d: (i: number) => number, keep: (i: number) => boolean = () => true) => ids.filter(keep).sort((x, y) => d(x) - d(y) || x - y);

      // Which vector field to search, and a page of the results after --offset.
      const noField = await vecbus(["search", "multi", "--vector", "[0,5,0,0]"], url);
      assert.equal(noField.code, 1);
      assert.match(noField.stderr, /error INVALID_ARGUMENT: anns_field is required/);
      const onB = ["search", "multi", "--vector", "[0,5,0,0]", "--anns-field", "vec_b"];
      const seven = await vecbusJson<Hits>([...onB, "--limit", "7"], url);
      assert.deepEqual(hitIds(seven), nearest(dB).slice(0, 7));
      const paged = await vecbusJson<Hits>([...onB, "--limit", "4", "--offset", "3"], url);
      assert.deepEqual(paged[0], seven[0].slice(3));
      const pagedTable = parseTable((await vecbus([...onB, "--limit", "4", "--offset", "3"], url)).stdout);
      assert.deepEqual(
        pagedTable.map((r) => [r.rank, r.id]),
        seven[0].slice(3).map((h, i) => [String(i + 4), String(h.id)]),
        "ranks continue after the offset",
      );

      // Range search: L2 keeps range_filter <= d < radius.
      const onA = ["search", "multi", "--vector", "[0,0,0,0]", "--anns-field", "vec_a"];
      const ranged = await vecbusJson<Hits>([...onA, "--radius", "26", "--range-filter", "4", "--limit", "20"], url);
      assert.deepEqual(hitIds(ranged), [2, 3, 4, 5]);
      assert.ok(ranged[0].every((h) => h.distance >= 4 && h.distance < 26), JSON.stringify(ranged));
      const withinRadius = await vecbusJson<Hits>([...onA, "--radius", "10", "--limit", "20"], url);
      assert.deepEqual(hitIds(withinRadius), [0, 1, 2, 3]);
      const noRadius = await vecbus([...onA, "--range-filter", "4"], url);
      assert.equal(noRadius.code, 1);
      assert.match(noRadius.stderr, /error INVALID_ARGUMENT: .*range_filter needs a radius/);

      // Group by: at most --limit groups of up to --group-size hits, best group first.
      const grouped = await vecbusJson<Hits>([...onA, "--group-by", "tag", "--group-size", "2", "--limit", "3"], url);
      assert.deepEqual(hitIds(grouped), [0, 4, 1, 5, 2, 6]);
      assert.deepEqual([...new Set(grouped[0].map((h) => h.entity.tag))], ["g0", "g1", "g2"]);
      const groupTable = parseTable((await vecbus([...onA, "--group-by", "tag", "--group-size", "2", "--limit", "2", "--offset", "1"], url)).stdout);
      assert.deepEqual(
        groupTable.map((r) => [r.group, r.tag, r.id]),
        [
          ["2", "g1", "1"],
          ["2", "g1", "5"],
          ["3", "g2", "2"],
          ["3", "g2", "6"],
        ],
      );
      const sizeAlone = await vecbus([...onA, "--group-size", "2"], url);
      assert.equal(sizeAlone.code, 2);
      assert.match(sizeAlone.stderr, /--group-size needs --group-by/);

      // Filter templates.
      const templated = await vecbusJson<Hits>([...onA, "--filter", "id >= {low}", "--filter-params", '{"low": 30}', "--limit", "3"], url);
      assert.deepEqual(hitIds(templated), [30, 31, 32]);
      const notMap = await vecbus([...onA, "--filter", "id >= {low}", "--filter-params", "[30]"], url);
      assert.equal(notMap.code, 2);
      assert.match(notMap.stderr, /--filter-params must be a JSON map/);

      // query: --count, --offset, and no filter with --limit.
      assert.deepEqual(await vecbusJson(["query", "multi", "--count"], url), [{ "count(*)": N }]);
      assert.equal((await vecbus(["query", "multi", "--count"], url)).stdout.trim(), `${N} rows match`);
      assert.equal((await vecbus(["query", "multi", "--count", "--filter", "id < 10"], url)).stdout.trim(), "10 rows match");
      assert.equal((await vecbus(["query", "multi", "--count", "--filter", "tag == {t}", "--filter-params", '{"t": "g1"}'], url)).stdout.trim(), "10 rows match");
      const rowIds = (rows: { id: number }[]) => rows.map((r) => r.id);
      assert.deepEqual(rowIds(await vecbusJson(["query", "multi", "--filter", "id >= 20", "--limit", "2", "--offset", "3", "--output-fields", "tag"], url)), [23, 24]);
      assert.deepEqual(await vecbusJson(["query", "multi", "--limit", "3", "--offset", "5", "--output-fields", "tag"], url), [
        { id: 5, tag: "g1" },
        { id: 6, tag: "g2" },
        { id: 7, tag: "g3" },
      ]);
      for (const [args, message] of [
        [[], /query needs --filter EXPR, or --limit N/],
        [["--count", "--limit", "3"], /--count counts every matching row/],
        [["--filter", "id > 0", "--offset", "3"], /--offset needs --limit/],
      ] as [string[], RegExp][]) {
        const r = await vecbus(["query", "multi", ...args], url);
        assert.equal(r.code, 2, `query ${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }

      // hybrid-search: each entry of --reqs is a search; the ranker fuses their ranks.
      const reqsFile = path.join(env.dataDir, "reqs.json");
      fs.writeFileSync(
        reqsFile,
        JSON.stringify([
          { data: [[0, 0, 0, 0]], anns_field: "vec_a", limit: 5 },
          { data: [[0, 5, 0, 0]], anns_field: "vec_b", limit: 5, filter: "id < 30" },
        ]),
      );
      const lists = [nearest(dA).slice(0, 5), nearest(dB, (i) => i < 30).slice(0, 5)];
      const dist = [dA, dB];
      const fused = (score: (req: number, rank: number, d: number) => number) => {
        const scores = new Map<number, number>();
        lists.forEach((list, req) => list.forEach((id, rank) => scores.set(id, (scores.get(id) ?? 0) + score(req, rank, dist[req](id)))));
        return [...scores].sort(([x, s], [y, t]) => t - s || x - y);
      };
      const expectHits = (got: Hits, want: [number, number][]) => {
        assert.deepEqual(hitIds(got), want.map(([id]) => id));
        got[0].forEach((h, i) => assert.ok(Math.abs(h.distance - want[i][1]) < 1e-9, `hit ${h.id}: score ${h.distance}, expected ${want[i][1]}`));
      };
      const hybrid = ["hybrid-search", "multi", "--reqs", reqsFile];

      const rrf = fused((_, rank) => 1 / (10 + rank + 1));
      expectHits(await vecbusJson<Hits>([...hybrid, "--ranker", "rrf", "--k", "10", "--limit", "5", "--output-fields", "tag"], url), rrf.slice(0, 5));
      expectHits(await vecbusJson<Hits>([...hybrid, "--k", "10", "--limit", "3", "--offset", "2"], url), rrf.slice(2, 5));
      const rrfDefault = fused((_, rank) => 1 / (60 + rank + 1));
      expectHits(await vecbusJson<Hits>(hybrid, url), rrfDefault.slice(0, 10));

      const weights = [0.7, 0.3];
      const weighted = fused((req, _, d) => weights[req] * (1 - (2 * Math.atan(d)) / Math.PI));
      expectHits(await vecbusJson<Hits>([...hybrid, "--ranker", "weighted", "--weights", "0.7,0.3", "--limit", "6"], url), weighted.slice(0, 6));
      const weightedTable = parseTable((await vecbus([...hybrid, "--weights", "0.7,0.3", "--limit", "4", "--output-fields", "tag"], url)).stdout);
      assert.deepEqual(
        weightedTable.map((r) => [r.rank, r.id, r.tag]),
        weighted.slice(0, 4).map(([id], i) => [String(i + 1), String(id), `g${id % 4}`]),
      );
      assert.ok(weightedTable.every((r) => r.score !== undefined && r.score !== ""), "the fused score column is headed score");

      const oneWeight = await vecbus([...hybrid, "--weights", "1"], url);
      assert.equal(oneWeight.code, 1);
      assert.match(oneWeight.stderr, /error INVALID_ARGUMENT: .*one weight per search/);
      for (const [args, message] of [
        [["--ranker", "weighted"], /--ranker weighted needs --weights/],
        [["--ranker", "rrf", "--weights", "0.5,0.5"], /--weights goes with --ranker weighted/],
        [["--ranker", "max"], /--ranker must be rrf or weighted/],
        [["--k", "ten"], /--k must be a number/],
      ] as [string[], RegExp][]) {
        const r = await vecbus([...hybrid, ...args], url);
        assert.equal(r.code, 2, `hybrid-search ${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
      const noReqs = await vecbus(["hybrid-search", "multi"], url);
      assert.equal(noReqs.code, 2);
      assert.match(noReqs.stderr, /--reqs is required/);
    });

    await t.test("Int64 keys beyond 2^53 go in and come out with every digit", async () => {
      await vecbusJson(["collection", "create", "wide", "--dim", "2", "--metric", "L2"], url);
      const file = writeJsonl(env.dataDir, "wide.jsonl", ['{"id": 9223372036854775807, "vector": [1, 2], "n": -9223372036854775808}', '{"id": 450072488481390593, "vector": [3, 4]}']);
      assert.equal((await vecbus(["insert", "wide", "--file", file], url)).code, 0);
      const got = await vecbus(["get", "wide", "--ids", "450072488481390593,9223372036854775807", "--output-fields", "n", "--consistency", "Strong", "--json"], url);
      assert.equal(got.code, 0, got.stderr);
      assert.match(got.stdout, /"id":9223372036854775807,"n":-9223372036854775808/);
      assert.match(got.stdout, /"id":450072488481390593[,}]/);
      assert.match((await vecbus(["get", "wide", "--ids", "[450072488481390593]", "--consistency", "Strong"], url)).stdout, /^450072488481390593\b/m);
      assert.equal((await vecbusJson<{ delete_count: number }>(["delete", "wide", "--ids", "9223372036854775807"], url)).delete_count, 1);
      assert.deepEqual(await vecbusJson(["collection", "drop", "wide"], url), { dropped: true });
    });

    await t.test("help lists the new commands", async () => {
      const r = await vecbus(["help"]);
      assert.equal(r.code, 0);
      for (const c of [
        "collection rename OLD NEW",
        "partition create COLLECTION NAME",
        "partition drop COLLECTION NAME",
        "partition has COLLECTION NAME",
        "partition list COLLECTION",
        "alias create ALIAS COLLECTION",
        "alias alter ALIAS COLLECTION",
        "alias drop ALIAS",
        "alias describe ALIAS",
        "alias list",
        "hybrid-search NAME --reqs FILE.json",
      ]) {
        assert.ok(r.stdout.includes(`  ${c} `), `help lacks "${c}":\n${r.stdout}`);
      }
      assert.match((await vecbus(["help", "query"])).stdout, /--partitions VALUE, --consistency VALUE/);
      assert.match((await vecbus(["help", "insert"])).stdout, /--partition VALUE/);
      const search = (await vecbus(["help", "search"])).stdout;
      for (const f of ["--anns-field FIELD", "--offset N", "--radius X", "--range-filter X", "--group-by FIELD", "--group-size N", "--filter-params JSON"]) {
        assert.ok(search.includes(f), `help search lacks ${f}:\n${search}`);
      }
      const query = (await vecbus(["help", "query"])).stdout;
      for (const f of ["--offset N", "--count", "--filter-params JSON"]) assert.ok(query.includes(f), `help query lacks ${f}:\n${query}`);
      const hybrid = (await vecbus(["help", "hybrid-search"])).stdout;
      for (const f of ["--ranker rrf|weighted", "--k 60", "--weights 0.7,0.3", "--limit 10", "--offset N", "--output-fields a,b"]) {
        assert.ok(hybrid.includes(f), `help hybrid-search lacks ${f}:\n${hybrid}`);
      }
    });

    await t.test("a bad line stops the insert and names its line", async () => {
      const file = writeJsonl(env.dataDir, "bad.jsonl", [rowLines[0], rowLines[1], "{not json"]);
      const r = await vecbus(["insert", "docs", "--file", file], url);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /error INVALID_ARGUMENT: .*bad\.jsonl line 3: not valid JSON/);
      assert.match(r.stderr, /inserted 0 rows/);
    });

    await t.test("usage errors exit 2, an unknown collection exits 1", async () => {
      const unknownCommand = await vecbus(["frobnicate"], url);
      assert.equal(unknownCommand.code, 2);
      assert.match(unknownCommand.stderr, /unknown command "frobnicate"[\s\S]*usage: vecbus/);
      const badFlag = await vecbus(["collection", "list", "--bogus"], url);
      assert.equal(badFlag.code, 2);
      assert.match(badFlag.stderr, /--bogus/);
      // Checked before serve starts anything.
      const advertiseAlone = await vecbus(["serve", "--leafnode-advertise", "hub.example:7422"]);
      assert.equal(advertiseAlone.code, 2);
      assert.match(advertiseAlone.stderr, /--leafnode-advertise needs --leafnode-port/);
      const badAdvertise = await vecbus(["serve", "--leafnode-port", "7422", "--leafnode-advertise", "nats://hub:7422"]);
      assert.equal(badAdvertise.code, 2);
      assert.match(badAdvertise.stderr, /--leafnode-advertise takes HOST:PORT/);
      const leafWithServer = await vecbus(["serve", "--leafnode-port", "7422"], url);
      assert.equal(leafWithServer.code, 2);
      assert.match(leafWithServer.stderr, /--leafnode-port configures the NATS server vecbus serve starts/);
      const gatewayWithUser = await vecbus(["start", "gateway", "--user", "x", "--password", "y", "--milvus-port", "0"], url);
      assert.equal(gatewayWithUser.code, 2);
      assert.match(gatewayWithUser.stderr, /the gateway acts as each caller's NATS user/);
      const milvusPortElsewhere = await vecbus(["start", "proxy", "--milvus-port", "0"], url);
      assert.equal(milvusPortElsewhere.code, 2);
      assert.match(milvusPortElsewhere.stderr, /--milvus-port and --milvus-host are for the gateway role/);

      const missing = await vecbus(["collection", "describe", "nope"], url);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /error COLLECTION_NOT_FOUND: /);
      const missingJson = await vecbus(["collection", "describe", "nope", "--json"], url);
      assert.equal(missingJson.code, 1);
      assert.equal(JSON.parse(missingJson.stdout).error.code, "COLLECTION_NOT_FOUND");
    });
  } finally {
    await env.close();
  }
});

test("table: numbers right-aligned, long values previewed", () => {
  const out = table(
    ["id", "name", "vector"],
    [
      [7, "a", [0.123, 0.5, 1, 2, 3]],
      [1234, "bb", new Float32Array([0.25, 1])],
    ],
  );
  assert.equal(out, ["  id  name  vector", "----  ----  ------------------", "   7  a     [0.12, 0.5, …] (5)", "1234  bb    [0.25, 1]"].join("\n"));
  assert.equal(formatValue({ k: "x".repeat(60) }).length, 40);
  assert.equal(formatValue(12345678901234567890n), "12345678901234567890");
  assert.equal(formatValue(undefined), "");
});

test("progress: silent off a terminal except for the summary", () => {
  let written = "";
  const p = progress("rows", { isTTY: false, write: (s: string) => (written += s) });
  p.update(10, 100);
  p.done("did 100 rows");
  assert.equal(written, "did 100 rows\n");
  written = "";
  const tty = progress("rows", { isTTY: true, write: (s: string) => (written += s) });
  tty.update(10, 100);
  tty.update(20, 100);
  tty.done("done");
  assert.match(written, /^\rrows: 10\/100 \(10%\)[^\r]*\r\x1b\[Kdone\n$/);
});


test("vecbus serve runs until SIGTERM and stops its nats-server", async () => {
  const dataDir = tempDir("cli-serve");
  const port = await freePort();
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(["--data", dataDir, "--port", String(port)]);
    assert.equal(serve.url, `nats://127.0.0.1:${port}`);
    const natsPid = Number(fs.readFileSync(path.join(dataDir, "nats-server.pid"), "utf8").trim());
    assert.ok(alive(natsPid));
    assert.match(fs.readFileSync(path.join(dataDir, "node-id"), "utf8"), /^serve-[0-9a-f]{8}\n$/);

    assert.deepEqual(await vecbusJson(["collection", "list"], serve.url), []);

    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0, serve.stderr());
    assert.ok(!alive(natsPid), "nats-server is still running after serve exited");
  } finally {
    await serve?.kill();
    // A serve killed above leaves its nats-server behind.
    await stopOrphan(path.join(dataDir, "nats-server.pid"));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
