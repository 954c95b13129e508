// The blob store against a real NATS object store bucket.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BlobStore } from "../../storage/object-store.js";
import { startEnv } from "../harness.js";

test("blob store - multi-chunk round trip, metadata, list, delete", async () => {
  const env = await startEnv({ roles: "none", tag: "obj" });
  try {
    const store = await BlobStore.open(env.admin, "t_segments");
    const big = new Uint8Array(3 * (1 << 20) + 123).map((_, i) => (i * 31) & 0xff);
    await store.put("seg-1", big, { rows: "42" });
    await store.put("seg-2", new Uint8Array([1, 2, 3]));
    assert.deepEqual(await store.get("seg-1"), big);
    assert.deepEqual(
      (await store.list()).map((o) => [o.name, o.size, o.metadata.rows]).sort(),
      [
        ["seg-1", big.length, "42"],
        ["seg-2", 3, undefined],
      ],
    );
    await store.delete("seg-1");
    await store.delete("seg-1");
    assert.equal(await store.get("seg-1"), null);
    assert.deepEqual(
      (await store.list()).map((o) => o.name),
      ["seg-2"],
    );
  } finally {
    await env.close();
  }
});
