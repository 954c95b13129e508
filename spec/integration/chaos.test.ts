// Chaos under load: one client inserts (and now and then deletes) while
// another reads, and one process of each role in turn is SIGKILLed and
// started again: proxy, coordinator (the lease holder), streaming node, query
// node, data node. Each role has a partner that carries on (the harness's own
// actors, a standby coordinator). Afterwards every acknowledged row is there
// exactly once and no acknowledged delete came back; during the run every
// Strong read of an acknowledged row found it. The longest stretch without a
// successful write, Bounded search and Strong get is printed per fault (the
// test only bounds it generously: timing is measured by `npm run chaos`,
// which repeats the faults, not by CI).
import assert from "node:assert/strict";
import { test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import type { Role } from "../../protocol/roles.js";
import type { Row } from "../../protocol/rows.js";
import { VecbusClient } from "../../runtime/client.js";
import type { ServeProcess } from "../cli/serve-process.js";
import { startActorProcess, startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, retried, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const BATCH = 20;
/** A request the client gives up on sooner than the harness's: the gap a user would see, not the longest wait. */
const CLIENT_TIMEOUT_MS = 5_000;
/**
 * Reads give up sooner and are sent again, as a reading application would
 * (a read is idempotent): a read that reached a proxy the moment it was
 * killed is lost, and only the client's timeout ends the wait for it.
 */
const READ_TIMEOUT_MS = 2_000;
/** A killed process stays down past the session TTL (6 s), so its partner takes its work over before it returns. */
const DOWN_MS = 8_000;
/** How long after a restart the load runs on before the next fault. */
const SETTLE_MS = 3_000;
/** Rounds of the five faults: one in CI; VECBUS_CHAOS_ROUNDS=N soaks longer. */
const ROUNDS = Number(process.env.VECBUS_CHAOS_ROUNDS ?? 1);
/** Generous: a fault is expected to heal within seconds; CI machines are slow. */
const GAP_BOUND_MS = 60_000;

type Victim = "proxy" | "coordinator" | "streaming" | "query" | "data";

class Processes {
  readonly running = new Map<string, ServeProcess>();
  constructor(private readonly env: TestEnv) {}

  async start(role: Role, nodeId: string): Promise<void> {
    // Keyed as the actor's id.
    this.running.set(`${nodeId}-${role}`, await startActorProcess(this.env, role, nodeId));
  }

  async kill(actorId: string): Promise<void> {
    const p = this.running.get(actorId);
    assert.ok(p, `${actorId} runs`);
    await p.kill();
    this.running.delete(actorId);
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.kill(id)));
  }
}

/** What the load saw: acknowledged and uncertain writes, and the times of successes. */
class Load {
  readonly acked = new Set<number>();
  /** Inserts that failed: they may or may not have happened. */
  readonly maybe = new Set<number>();
  readonly deleted = new Set<number>();
  readonly maybeDeleted = new Set<number>();
  readonly staleReads: string[] = [];
  writeOk: number[] = [];
  strongOk: number[] = [];
  searchOk: number[] = [];
  private searched = 0;
  errors = 0;
  private next = 100_000;
  get nextId(): number {
    return this.next;
  }
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly vecs = randomVectors(64, DIM, 11);

  constructor(
    private readonly writer: VecbusClient,
    private readonly reader: VecbusClient,
  ) {}

  start(): void {
    this.loops.push(this.writes(), this.strongReads(), this.searches());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async writes(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      if (n % 10 === 9) await this.deleteSome();
      const ids = Array.from({ length: BATCH }, () => this.next++);
      try {
        await this.writer.insert({ collection_name: "chaos", data: ids.map((id) => ({ id, vector: this.vecs[id % 64] })) });
        for (const id of ids) this.acked.add(id);
        this.writeOk.push(Date.now());
      } catch (e) {
        this.failed(e);
        for (const id of ids) this.maybe.add(id);
        await pause(100);
      }
    }
  }

  private async deleteSome(): Promise<void> {
    const ids = [...this.acked].filter((id) => !this.deleted.has(id) && !this.maybeDeleted.has(id) && id % 7 === 0).slice(0, 5);
    try {
      await this.writer.delete({ collection_name: "chaos", ids });
      for (const id of ids) this.deleted.add(id);
    } catch (e) {
      this.failed(e);
      for (const id of ids) this.maybeDeleted.add(id);
    }
  }

  /** A Strong get of the newest row acknowledged before it began: it must find it (it needs the coordinator's timestamp). */
  private async strongReads(): Promise<void> {
    while (!this.stopped) {
      const live = [...this.acked].filter((id) => !this.deleted.has(id) && !this.maybeDeleted.has(id));
      const id = live[live.length - 1];
      try {
        const found = (await this.reader.call("get", { collection_name: "chaos", ids: [id], output_fields: ["id"], consistency_level: "Strong" })) as Row[];
        if (found.length !== 1) this.staleReads.push(`at ${new Date().toISOString()} a Strong get of acked id ${id} returned ${JSON.stringify(found)}`);
        this.strongOk.push(Date.now());
      } catch (e) {
        this.failed(e);
      }
      await pause(50);
    }
  }

  /** A Bounded search, as most search traffic is. */
  private async searches(): Promise<void> {
    while (!this.stopped) {
      try {
        const hits = await this.reader.search({ collection_name: "chaos", data: [this.vecs[this.searched++ % 64]], limit: 5, consistency_level: "Bounded" });
        assert.ok(Array.isArray(hits));
        this.searchOk.push(Date.now());
      } catch (e) {
        this.failed(e);
      }
      await pause(50);
    }
  }

  private failed(e: unknown): void {
    if (!(e instanceof VecbusError && ["UNAVAILABLE", "TIMEOUT", "SHARD_NOT_READY", "NOT_LEADER"].includes(e.code))) throw e;
    this.errors++;
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The longest stretch within [from, to] without a success. */
function longestGap(successes: number[], from: number, to: number): number {
  let last = from;
  let gap = 0;
  for (const t of successes) {
    if (t < from) continue;
    if (t > to) break;
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

test("chaos - each role's process SIGKILLed and restarted under inserts, deletes and Strong reads: nothing acked is lost or doubled, nothing deleted returns", { timeout: TEST_TIMEOUT_MS * 2 * ROUNDS }, async () => {
  const env = await startEnv({ tag: "chaos", roles: ["proxy", "streaming", "query", "data"] });
  const procs = new Processes(env);
  let writer: VecbusClient | undefined;
  let reader: VecbusClient | undefined;
  try {
    // The victim coordinator starts first, so it holds the lease when it is killed.
    await procs.start("coordinator", "victim");
    await procs.start("coordinator", "standby");
    for (const role of ["proxy", "streaming", "query", "data"] as const) await procs.start(role, "victim");
    const c = env.client;
    await c.create_collection({ collection_name: "chaos", dimension: DIM, num_shards: 2 });
    const owners = (await c.status()).shards.map((s) => s.owner);
    assert.ok(owners.includes("victim-streaming"), `the victim streaming node owns a shard: ${owners}`);
    const seed = randomVectors(2000, DIM, 3);
    await c.insert({ collection_name: "chaos", data: seed.map((v, id) => ({ id, vector: v })) });
    await c.flush({ collection_name: "chaos" });

    writer = await VecbusClient.connect(env.nats.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    reader = await VecbusClient.connect(env.nats.url, { timeoutMs: READ_TIMEOUT_MS });
    const load = new Load(writer, reader);
    for (let id = 0; id < 2000; id++) load.acked.add(id);
    load.start();
    await pause(SETTLE_MS);

    const report: { fault: Victim; write_gap_ms: number; search_gap_ms: number; strong_get_gap_ms: number }[] = [];
    const faults = Array.from({ length: ROUNDS }, () => ["proxy", "coordinator", "streaming", "query", "data"] as const).flat();
    for (const role of faults) {
      const from = Date.now();
      console.log(`${new Date().toISOString()} killing the ${role}`);
      await procs.kill(`victim-${role}`);
      await pause(DOWN_MS);
      // The killed coordinator comes back as the standby; the others under their old node id.
      await procs.start(role, "victim");
      await eventually(`writes and reads to go on after the ${role} process was killed`, () => {
        const since = Date.now() - 1_000;
        return [load.writeOk, load.searchOk, load.strongOk].every((ok) => ok.some((t) => t > since));
      });
      await pause(SETTLE_MS);
      const to = Date.now();
      report.push({
        fault: role,
        write_gap_ms: longestGap(load.writeOk, from, to),
        search_gap_ms: longestGap(load.searchOk, from, to),
        strong_get_gap_ms: longestGap(load.strongOk, from, to),
      });
    }
    await load.stop();
    console.log(`chaos: ${load.errors} client errors, ${load.acked.size} rows acked, ${load.deleted.size} deleted`);
    console.table(report);

    assert.deepEqual(load.staleReads, [], "every Strong read found the row acknowledged before it");
    for (const r of report) {
      assert.ok(Math.max(r.write_gap_ms, r.search_gap_ms, r.strong_get_gap_ms) < GAP_BOUND_MS, `service resumed after killing the ${r.fault}: ${JSON.stringify(r)}`);
    }
    // Every row, in id ranges below the query limit.
    const rows: Row[] = [];
    for (let from = 0; from < load.nextId; from += 10_000) {
      const filter = `id >= ${from} and id < ${from + 10_000}`;
      rows.push(...((await retried(() => c.call("query", { collection_name: "chaos", filter, limit: 16_384, output_fields: ["id"], consistency_level: "Strong" }))) as Row[]));
    }
    const ids = rows.map((r) => r.id as number);
    assert.equal(new Set(ids).size, ids.length, "no row twice");
    const present = new Set(ids);
    const lost = [...load.acked].filter((id) => !present.has(id) && !load.deleted.has(id) && !load.maybeDeleted.has(id));
    assert.deepEqual(lost, [], "every acknowledged row is there");
    assert.deepEqual(ids.filter((id) => load.deleted.has(id)), [], "no acknowledged delete came back");
    assert.deepEqual(ids.filter((id) => !load.acked.has(id) && !load.maybe.has(id)), [], "nothing that was never written");
  } finally {
    await writer?.close();
    await reader?.close();
    await procs.killAll();
    await env.close();
  }
});
