// The timestamp oracle against a real meta bucket, with the wall clock
// frozen and moved by hand: the cases that matter (a saved bound far ahead
// of the clock, a burst that overflows the logical part within one
// millisecond, two leaders overlapping) never happen reliably on a real clock.
//
// The persisted bound is the highest physical time any leader may hand out
// (actors/tso.ts): every timestamp must be at or below the bound stored when
// it is returned, and a new leader starts strictly above it.
import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { Kvm } from "@nats-io/kv";
import { TimestampOracle } from "../../actors/tso.js";
import { MetaKey } from "../../protocol/subjects.js";
import { LOGICAL_MAX, physicalOf } from "../../protocol/timestamp.js";
import { MetaStore } from "../../storage/meta-store.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";

const HOUR = 3_600_000;

/** Every handed-out range, checked as it comes: disjoint, ascending, within one millisecond, covered by the bound persisted before it was returned. */
class Ledger {
  private end = 0n;
  private lastBound = 0;

  constructor(private readonly meta: MetaStore) {}

  async allocate(tso: TimestampOracle, count: number): Promise<bigint> {
    const ts = await tso.allocate(count);
    assert.ok(ts >= this.end, `allocate(${count}) = ${ts} overlaps the previous range, which ended at ${this.end}`);
    const logical = Number(ts & BigInt(LOGICAL_MAX - 1));
    assert.ok(logical + count <= LOGICAL_MAX, `allocate(${count}) starts at logical ${logical}: the range spills out of its millisecond`);
    this.end = ts + BigInt(count);
    const bound = await this.bound();
    assert.ok(physicalOf(ts) <= bound, `allocate(${count}) handed out physical ${physicalOf(ts)} above the persisted bound ${bound}`);
    return ts;
  }

  /** The persisted bound, checked never to go down. */
  async bound(): Promise<number> {
    const b = (await this.meta.get<{ bound: number }>(MetaKey.tso))?.value.bound ?? 0;
    assert.ok(b >= this.lastBound, `the persisted bound went down from ${this.lastBound} to ${b}`);
    this.lastBound = b;
    return b;
  }
}

describe("tso", () => {
  let env: TestEnv;
  let bucket = 0;
  before(async () => {
    env = await startEnv({ roles: "none", tag: "tso" });
  });
  after(async () => {
    await env.close();
  });

  /** A fresh meta bucket per test, and the wall clock frozen at the real time (moved with t.mock.timers.tick). */
  async function setUp(t: TestContext): Promise<MetaStore> {
    const meta = new MetaStore(await new Kvm(env.admin).create(`tso_${++bucket}`, { history: 5 }));
    t.mock.timers.enable({ apis: ["Date"], now: Date.now() });
    return meta;
  }

  test("tso - a saved bound hours ahead of the clock: the first timestamp is above it", async (t) => {
    const meta = await setUp(t);
    const saved = Date.now() + 3 * HOUR;
    await meta.put(MetaKey.tso, { bound: saved });
    const tso = new TimestampOracle(meta);
    await tso.init();
    const ledger = new Ledger(meta);
    const first = await ledger.allocate(tso, 1);
    assert.ok(physicalOf(first) > saved, `first physical ${physicalOf(first)} > saved bound ${saved}`);
    // The clock catching up with the bound does not bring timestamps back to it.
    t.mock.timers.tick(3 * HOUR + 10);
    for (let i = 0; i < 50; i++) await ledger.allocate(tso, 1024);
  });

  test("tso - ranges strictly increase and stay within one millisecond, also when a burst overflows the logical part", async (t) => {
    const meta = await setUp(t);
    const tso = new TimestampOracle(meta);
    await tso.init();
    const ledger = new Ledger(meta);
    // Within one frozen millisecond: 1 + 1024 + (LOGICAL_MAX - 1000) overflows the 18 bits, so the next range moves to the next millisecond.
    for (const count of [1, 1024, LOGICAL_MAX - 1000, 2_000, LOGICAL_MAX, 1, LOGICAL_MAX - 1, 2, 100_000, 100_000, 100_000]) await ledger.allocate(tso, count);
    // The clock reaching the millisecond the overflow borrowed must not hand it out again.
    t.mock.timers.tick(1);
    for (const count of [1, LOGICAL_MAX - 1, 1]) await ledger.allocate(tso, count);
    // Steady traffic over several windows (the bound runs 3 s ahead), so the oracle extends the bound as it goes.
    for (let ms = 0; ms < 10_000; ms += 13) {
      t.mock.timers.tick(13);
      await ledger.allocate(tso, ms % 3 === 0 ? 1024 : 1);
    }
  });

  test("tso - a new leader continues above everything the old one could hand out, and the bound never goes down", async (t) => {
    const meta = await setUp(t);
    const ledger = new Ledger(meta);
    const old = new TimestampOracle(meta);
    await old.init();
    for (let i = 0; i < 20; i++) await ledger.allocate(old, 1024);
    const oldBound = await ledger.bound();
    assert.ok(oldBound > Date.now(), "the old leader's bound runs ahead of the clock");

    // The new leader takes over while the old one is still running (a lease handover overlaps for a moment).
    const next = new TimestampOracle(meta);
    await next.init();
    const first = await ledger.allocate(next, 1);
    assert.ok(physicalOf(first) > oldBound, `new leader's first physical ${physicalOf(first)} > old bound ${oldBound}`);
    const newBound = await ledger.bound();

    // The old leader, not yet aware it lost the lease, extends its own (lower) window: the stored bound must not drop below the new leader's.
    t.mock.timers.tick(oldBound - Date.now());
    await old.allocate(1);
    assert.ok((await ledger.bound()) >= newBound, "the stored bound stays at the new leader's");
    // ... and the new leader goes on from where it was.
    for (let i = 0; i < 20; i++) await ledger.allocate(next, 1024);
  });

  test("tso - a range that cannot fit in one millisecond is refused and hands out nothing", async (t) => {
    const meta = await setUp(t);
    const tso = new TimestampOracle(meta);
    await tso.init();
    const ledger = new Ledger(meta);
    await ledger.allocate(tso, 1);
    for (const count of [LOGICAL_MAX + 1, 0, -1, 1.5, Number.NaN]) await rejectsWith(tso.allocate(count), "INVALID_ARGUMENT", /1 to 262144 timestamps/);
    await ledger.allocate(tso, LOGICAL_MAX);
    await ledger.allocate(tso, 1);
  });
});
