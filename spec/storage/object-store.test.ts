// The blob store against a real NATS object store bucket.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { BlobStore } from "../../storage/object-store.js";
import { FileCache } from "../../storage/file-cache.js";
import { startEnv, tempDir } from "../harness.js";

test("blob store - multi-chunk round trip, metadata, list, delete", async () => {
  const env = await startEnv({ roles: "none", tag: "obj" });
  try {
    const store = await BlobStore.open(env.admin, "t_segments");
    const big = new Uint8Array(3 * (1 << 20) + 123).map((_, i) => (i * 31) & 0xff);
    await store.put("seg-1", big, { rows: "42" });
    await store.put("seg-2", new Uint8Array([1, 2, 3]));
    assert.deepEqual(await store.get("seg-1"), big);
    // Parts stream as one object, across chunk boundaries, an empty part included.
    const cuts = [0, 5, 5, (1 << 20) + 7, 2 * (1 << 20), big.length];
    await store.put("seg-parts", cuts.slice(1).map((end, i) => big.subarray(cuts[i], end)));
    assert.deepEqual(await store.get("seg-parts"), big);
    await store.delete("seg-parts");
    // A file streams a chunk at a time: the same bytes, and an empty file is an empty object.
    const dir = tempDir("obj-file");
    try {
      fs.writeFileSync(path.join(dir, "big"), big);
      fs.writeFileSync(path.join(dir, "empty"), new Uint8Array(0));
      await store.putFile("seg-file", path.join(dir, "big"), { rows: "7" });
      await store.putFile("seg-empty", path.join(dir, "empty"));
      // ... and back to a file the same way.
      assert.equal(await store.getToFile("seg-file", path.join(dir, "back")), true);
      assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(dir, "back"))), big);
      assert.equal(await store.getToFile("seg-empty", path.join(dir, "back-empty")), true);
      assert.equal(fs.statSync(path.join(dir, "back-empty")).size, 0);
      assert.equal(await store.getToFile("nope", path.join(dir, "nope")), false);
      assert.equal(fs.existsSync(path.join(dir, "nope")), false, "no file is left for a missing object");
      // Two downloads of one object at once each get a whole file.
      const cache = new FileCache(store, path.join(dir, "cache"));
      await cache.open();
      const files = await Promise.all([cache.file("seg-file", "read twice"), cache.file("seg-file", "read twice")]);
      for (const f of files) assert.deepEqual(new Uint8Array(fs.readFileSync(f)), big);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(await store.get("seg-file"), big);
    assert.deepEqual(await store.get("seg-empty"), new Uint8Array(0));
    assert.equal((await store.list()).find((o) => o.name === "seg-file")?.metadata.rows, "7");
    await store.delete("seg-file");
    await store.delete("seg-empty");
    // A prefix: chunks (1 MiB) until the length the head names; 1.5 MiB takes two of the four.
    const asked: number[] = [];
    const prefix = await store.getPrefix("seg-1", (head) => (asked.push(head.byteLength), head.byteLength >= 1000 ? 1.5 * (1 << 20) : undefined));
    assert.deepEqual([prefix!.byteLength, asked], [2 << 20, [1 << 20]]);
    assert.deepEqual(prefix, big.subarray(0, 2 << 20));
    assert.deepEqual(Array.from((await store.getPrefix("seg-2", () => 100))!), [1, 2, 3], "an object shorter than asked: all of it");
    assert.equal(await store.getPrefix("nope", () => 1), null);
    assert.deepEqual(await store.get("seg-1"), big, "an abandoned read leaves the object whole");
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
