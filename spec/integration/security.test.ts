// The security model (README "Security"): a client without credentials may
// call the public API and nothing else; named API users only their role's
// methods; each actor only its role's subjects; with --require-auth nobody
// connects without credentials. Every refused attempt is checked to have
// changed nothing: the WAL's bytes and the rows read back are compared with
// what was there before.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer } from "../../cli/nats-server.js";
import { createUser } from "../../cli/users.js";
import { SUPERUSER } from "../../protocol/permissions.js";
import { DEFAULT_PREFIX, Names } from "../../protocol/subjects.js";
import { VecbusClient } from "../../runtime/client.js";
import { encode } from "../../runtime/codec.js";
import { request } from "../../runtime/rpc.js";
import { refused, rejectsWith, subscribeRefused } from "../assert.js";
import { startEnv, tempDir, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { CLIENT_TIMEOUT_MS, eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const names = new Names(DEFAULT_PREFIX);
const DIM = 4;

describe("security", () => {
  let env: TestEnv;
  let cid: number;
  let admin: NatsConnection;

  /** What is stored: every WAL record's bytes and the rows read back. */
  async function snapshot(): Promise<{ wal: string[]; rows: unknown }> {
    const jsm = await jetstreamManager(admin);
    const wal: string[] = [];
    const info = await jsm.streams.info(names.walStream(cid, 0));
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(names.walStream(cid, 0), { seq }).catch(() => null);
      if (m) wal.push(`${seq}:${m.subject}:${Buffer.from(m.data).toString("base64")}`);
    }
    const rows = await env.client.query({ collection_name: "secure", filter: "id >= 0", output_fields: ["*"], consistency_level: "Strong" });
    return { wal, rows: [...rows].sort((a, b) => Number(a.id) - Number(b.id)) };
  }

  before(async () => {
    env = await startEnv({ tag: "security", refusalsExpected: true });
    await env.client.create_collection({ collection_name: "secure", dimension: DIM });
    cid = (await env.client.describe_collection({ collection_name: "secure" })).collection_id;
    const vectors = randomVectors(20, DIM, 7);
    await env.client.insert({ collection_name: "secure", data: vectors.map((vector, id) => ({ id, vector })) });
    admin = await connect({ servers: env.nats.url, ...env.nats.credentials(SUPERUSER) });
  });

  after(async () => {
    await admin?.close();
    await env?.close();
  });

  test("security - a client without credentials is refused every internal subject, stream, bucket and JetStream call, and nothing changes", { timeout: TEST_TIMEOUT_MS }, async () => {
    const before = await snapshot();
    const anon = await connect({ servers: env.nats.url });
    try {
      const wal = names.walStream(cid, 0);
      // The forged messages of the issue: each would have changed stored data or wedged an actor.
      await refused(anon, names.shardSubject(cid, 0, 1), { kind: "insert", batch: { count: 1, fields: { id: ["evil"], vector: new Float32Array(4) }, partition: "_default" } });
      await refused(anon, names.coordinatorSubject(), { kind: "create_collection", name: "x", schema: { fields: [] } });
      await refused(anon, names.walSubject(cid, 0), { kind: "fence", epoch: 999999 });
      await refused(anon, `$JS.API.STREAM.PURGE.${wal}`, {});
      await refused(anon, `$JS.API.STREAM.DELETE.${wal}`, {});
      await refused(anon, `$JS.API.STREAM.INFO.${wal}`, {});
      await refused(anon, "$JS.API.INFO", {});
      await refused(anon, `$JS.API.STREAM.DELETE.KV_${names.metaBucket()}`, {});
      await refused(anon, `$KV.${names.metaBucket()}.shards.999.0`, "dd ff");
      await refused(anon, `$KV.${names.sessionBucket()}.lease.coordinator`, {});
      await refused(anon, `$O.${names.objectBucket()}.M.x`, {});
      await refused(anon, names.querySubject("test-query"), { kind: "search" });
      await refused(anon, names.taskSubject("build_index", cid, 0), {});
      // Nor may it listen where actors and other users get their messages and replies.
      await subscribeRefused(anon, names.apiWildcard());
      await subscribeRefused(anon, `${DEFAULT_PREFIX}.>`);
      await subscribeRefused(anon, "_VB.>");
      await subscribeRefused(anon, ">");
      // The public API still answers it.
      const anonClient = new VecbusClient(anon, { timeoutMs: CLIENT_TIMEOUT_MS });
      assert.ok((await anonClient.list_collections()).includes("secure"));
    } finally {
      await anon.close();
    }
    assert.deepEqual(await snapshot(), before);
  });

  test("security - forged internal messages from a connection that may send them are refused, and change nothing", { timeout: TEST_TIMEOUT_MS }, async () => {
    const before = await snapshot();
    const ask = (subject: string, body: unknown) => request(admin, subject, body, CLIENT_TIMEOUT_MS);
    // The forged insert: a string key in an Int64 collection, a 1000-character value, a missing vector.
    const batch = (fields: Record<string, unknown>) => ({ kind: "insert", batch: { count: 1, fields, partition: "_default" } });
    await rejectsWith(ask(names.shardSubject(cid, 0, 1), batch({ id: ["evil"], vector: new Float32Array(DIM) })), "INVALID_FIELD_VALUE", /"id"/);
    await rejectsWith(ask(names.shardSubject(cid, 0, 1), batch({ id: [5], vector: new Float32Array(DIM), ghost: ["x".repeat(1000)] })), "FIELD_NOT_FOUND", /ghost/);
    await rejectsWith(ask(names.shardSubject(cid, 0, 1), batch({ id: [5] })), "MISSING_FIELD", /vector/);
    await rejectsWith(ask(names.shardSubject(cid, 0, 1), batch({ id: [5], vector: new Float32Array(DIM * 2) })), "INVALID_FIELD_VALUE", /vector/);
    await rejectsWith(ask(names.shardSubject(cid, 0, 1), { kind: "insert" }), "MALFORMED_REQUEST", /batch/);
    await rejectsWith(ask(names.shardSubject(cid, 0, 1), { kind: "fence", epoch: 999999 }), "MALFORMED_REQUEST", /kind/);
    await rejectsWith(ask(names.coordinatorSubject(), { kind: "create_collection", name: "x", schema: { fields: [] }, num_shards: 1, metric_type: "L2", consistency_level: "Bounded", partitions: ["_default"] }), "SCHEMA_INVALID");
    await rejectsWith(ask(names.coordinatorSubject(), { kind: "allocate_ts", count: "many" }), "MALFORMED_REQUEST", /count/);
    assert.deepEqual(await env.client.list_collections(), ["secure"]);
    assert.deepEqual(await snapshot(), before);
    // The shard still flushes (nothing unstorable reached its WAL), and the rows are the same after it.
    await env.client.flush({ collection_name: "secure" });
    assert.deepEqual((await snapshot()).rows, before.rows);
  });

  test("security - an actor may not do another role's work: the proxy cannot write the WAL or meta", { timeout: TEST_TIMEOUT_MS }, async () => {
    const before = await snapshot();
    const proxy = await env.connectAs("proxy", "fake-proxy");
    try {
      await assert.rejects(jetstream(proxy).publish(names.walSubject(cid, 0), encode({ kind: "fence", epoch: 999999 })));
      await refused(proxy, `$KV.${names.metaBucket()}.shards.${cid}.0`, {});
      await refused(proxy, `$JS.API.STREAM.PURGE.${names.walStream(cid, 0)}`, {});
      await subscribeRefused(proxy, names.shardSubject(cid, 0, 1));
    } finally {
      await proxy.close();
    }
    assert.deepEqual(await snapshot(), before);
  });

  test("security - API users get their role's methods only, and replies on their own inbox", { timeout: TEST_TIMEOUT_MS }, async () => {
    const reader = createUser(env.dataDir, "reader", "readonly");
    const writer = createUser(env.dataDir, "writer", "readwrite");
    assert.ok(reader.reloaded && writer.reloaded);
    // The server reloads its config on a signal, in the background: a new user can connect once it has.
    const as = async (user: string, pass: string) => {
      let c: VecbusClient | null = null;
      await eventually(`${user} can connect`, async () => (c = await VecbusClient.connect(env.nats.url, { timeoutMs: CLIENT_TIMEOUT_MS, auth: { user, pass } }).catch(() => null)) !== null);
      return c!;
    };
    // Both reloads applied (each user can connect) before the clients that the test uses connect: a
    // connection made between two reloads was once refused its own inbox on 2.9.10 (seen in one CI run).
    for (const c of [await as("reader", reader.password), await as("writer", writer.password)]) await c.close();
    const r = await as("reader", reader.password);
    const w = await as("writer", writer.password);
    try {
      const before = await snapshot();
      const hits = await r.search({ collection_name: "secure", data: [[0, 0, 0, 0]], limit: 3 });
      assert.equal(hits[0].length, 3);
      await rejectsWith(r.insert({ collection_name: "secure", data: [{ id: 100, vector: [1, 1, 1, 1] }] }), "PERMISSION_DENIED", /secure|insert/);
      await rejectsWith(r.drop_collection({ collection_name: "secure" }), "PERMISSION_DENIED");
      await rejectsWith(w.drop_collection({ collection_name: "secure" }), "PERMISSION_DENIED");
      await rejectsWith(w.create_collection({ collection_name: "other", dimension: DIM }), "PERMISSION_DENIED");
      assert.deepEqual(await snapshot(), before);
      await w.insert({ collection_name: "secure", data: [{ id: 100, vector: [1, 1, 1, 1] }] });
      assert.equal((await r.get({ collection_name: "secure", ids: [100], consistency_level: "Strong" })).length, 1);
      // A named user may not read the shared inbox of anonymous clients, nor another user's.
      await subscribeRefused(r.nc, "_INBOX.>");
      await subscribeRefused(r.nc, "_VB.vecbus.user.writer.>");
    } finally {
      await r.close();
      await w.close();
    }
  });

  test("security - with --require-auth a connection without credentials is refused; the superuser's is taken", { timeout: TEST_TIMEOUT_MS }, async () => {
    const dataDir = tempDir("require-auth");
    const nats = await startNatsServer({ dataDir, security: { prefixes: [DEFAULT_PREFIX], requireAuth: true } });
    try {
      await rejectsWith(VecbusClient.connect(nats.url), "UNAUTHENTICATED", /credentials/);
      await rejectsWith(VecbusClient.connect(nats.url, { auth: { user: SUPERUSER, pass: "wrong" } }), "UNAUTHENTICATED");
      const c = await VecbusClient.connect(nats.url, { auth: nats.credentials(SUPERUSER) });
      await c.close();
    } finally {
      await nats.stop();
    }
  });
});
