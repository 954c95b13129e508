// The proxy's meta cache over the real meta bucket of a running vecbus, with
// a watch whose deliveries the test holds back: what the cache answers while
// its watch lags is what a proxy answers while another proxy's DDL, or its
// own, is still on its way.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { MetaCache } from "../../actors/proxy/meta-cache.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { DEFAULT_PREFIX, MetaKey, Names } from "../../protocol/subjects.js";
import { MetaStore } from "../../storage/meta-store.js";
import { startEnv } from "../harness.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

/** A meta store whose watches deliver only while the test lets them. */
class HeldMetaStore extends MetaStore {
  held = false;
  private readonly pending: (() => void)[] = [];
  ends: (() => void)[] = [];

  override watch<T>(filter: string, onChange: (key: string, value: T | null, revision: number) => void, onEnd?: () => void) {
    if (onEnd) this.ends.push(onEnd);
    return super.watch<T>(filter, (k, v, r) => (this.held ? this.pending.push(() => onChange(k, v, r)) : onChange(k, v, r)), onEnd);
  }

  release(): void {
    this.held = false;
    for (const f of this.pending.splice(0)) f();
  }

  /** Delivers the oldest held change; false when none is held. */
  releaseOne(): boolean {
    this.pending.shift()?.();
    return this.pending.length > 0;
  }
}

test("proxy meta cache - serves what its watch delivered; a DDL through it is seen at once; unseen and ended-watch keys come from the bucket", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "meta-cache" });
  const c = env.client;
  const store = new HeldMetaStore(await new Kvm(env.admin).open(new Names(DEFAULT_PREFIX).metaBucket()));
  const cache = new MetaCache(store);
  const partitions = async (name: string) => (await cache.get<CollectionMeta>(MetaKey.collection(name)))?.partitions;
  try {
    await c.create_collection({ collection_name: "a", dimension: 4 });
    await cache.start();
    assert.deepEqual(await partitions("a"), ["_default"]);

    // Another proxy's DDL: invisible while the watch holds it back (so it is served from memory), seen once delivered.
    store.held = true;
    await c.create_partition({ collection_name: "a", partition_name: "p1" });
    assert.deepEqual(await partitions("a"), ["_default"], "a cached value is served until the watch delivers the change");
    store.release();
    await eventually("the watch delivers the new partition", async () => (await partitions("a"))?.length === 2);

    // A collection the watch has not delivered yet is read from the bucket.
    store.held = true;
    await c.create_collection({ collection_name: "b", dimension: 4 });
    assert.deepEqual(await partitions("b"), ["_default"]);

    // This proxy's own DDL: seen at once, though the watch still holds back its write.
    await cache.ddl({ kind: "create_partition", collection_name: "a", partition_name: "p2" }, () => c.create_partition({ collection_name: "a", partition_name: "p2" }));
    assert.deepEqual(await partitions("a"), ["_default", "p1", "p2"]);
    await cache.ddl({ kind: "drop_collection", name: "a" }, () => c.drop_collection({ collection_name: "a" }));
    assert.equal(await partitions("a"), undefined, "a dropped collection is gone for the proxy that dropped it");
    // Pinned until the watch catches up: late deliveries of older revisions do not bring an old value back.
    while (store.releaseOne()) assert.equal(await partitions("a"), undefined);
    store.release();
    assert.equal(await partitions("a"), undefined);

    // A watch that ended serves nothing from memory.
    store.held = true;
    await c.create_partition({ collection_name: "b", partition_name: "p1" });
    assert.deepEqual(await partitions("b"), ["_default"]);
    for (const end of store.ends) end();
    assert.deepEqual(await partitions("b"), ["_default", "p1"]);
  } finally {
    cache.stop();
    await env.close();
  }
});
