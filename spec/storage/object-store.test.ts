// The blob store against a real NATS object store bucket.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { BlobStore } from "../../storage/object-store.js";
import { FileCache } from "../../storage/file-cache.js";
import { startEnv, tempDir } from "../harness.js";
import { SUPERUSER } from "../../protocol/permissions.js";

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

test("blob store - a download holds a few chunks at a time, however large the object", async () => {
  const env = await startEnv({ roles: "none", tag: "obj-rss" });
  const dir = tempDir("obj-rss");
  try {
    const store = await BlobStore.open(env.admin, "t_segments");
    const size = 256 << 20;
    fs.writeFileSync(path.join(dir, "big"), new Uint8Array(size).map((_, i) => i & 0xff));
    await store.putFile("big", path.join(dir, "big"));
    fs.rmSync(path.join(dir, "big"));
    // In a process of its own: its peak resident memory is the download's.
    const { user, pass } = env.nats.credentials(SUPERUSER)!;
    const out = execFileSync(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "download-rss.ts")], {
      env: { ...process.env, DOWNLOAD: JSON.stringify({ url: env.nats.url, user, pass, bucket: "t_segments", name: "big", file: path.join(dir, "back") }) },
      encoding: "utf8",
    });
    const { before, after } = JSON.parse(out) as { before: number; after: number };
    assert.equal(fs.statSync(path.join(dir, "back")).size, size);
    // Taken as fast as the server sends them, the chunks of a 256 MiB object raised the peak by ~240 MiB.
    assert.ok(after - before < 128, `the download raised the peak resident memory by ${Math.round(after - before)} MiB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await env.close();
  }
});

test("blob store - a read checks the chunks against the object's size and digest", async () => {
  const env = await startEnv({ roles: "none", tag: "obj-corrupt" });
  try {
    const store = await BlobStore.open(env.admin, "t_segments");
    const js = jetstream(env.admin);
    const jsm = await jetstreamManager(env.admin);
    const objects = await new Objm(env.admin).open("t_segments");
    const bytes = new Uint8Array(2 * (1 << 20) + 5).map((_, i) => (i * 7) & 0xff);
    /** The stream sequences of an object's chunks, in order. */
    const chunkSeqs = async (name: string) => {
      const { nuid } = (await objects.info(name))!;
      const seqs: number[] = [];
      const last = (await jsm.streams.info("OBJ_t_segments")).state.last_seq;
      for (let seq = 1; seq <= last; seq++) {
        const m = await jsm.streams.getMessage("OBJ_t_segments", { seq }).catch(() => null);
        if (m?.subject === `$O.t_segments.C.${nuid}`) seqs.push(seq);
      }
      return { nuid, seqs };
    };

    await store.put("altered", bytes);
    const altered = await chunkSeqs("altered");
    await jsm.streams.deleteMessage("OBJ_t_segments", altered.seqs[2]);
    await js.publish(`$O.t_segments.C.${altered.nuid}`, new Uint8Array(5));
    await assert.rejects(store.get("altered"), /object altered is corrupt: its bytes do not match its SHA-256 digest/);

    await store.put("short", bytes);
    const short = await chunkSeqs("short");
    await jsm.streams.deleteMessage("OBJ_t_segments", short.seqs[1]);
    await assert.rejects(store.get("short"), /object short is corrupt: its chunks end after 1048581 of its 2097157 bytes/);

    await store.put("long", bytes);
    const long = await chunkSeqs("long");
    await jsm.streams.deleteMessage("OBJ_t_segments", long.seqs[2]);
    await js.publish(`$O.t_segments.C.${long.nuid}`, new Uint8Array(6));
    await assert.rejects(store.get("long"), /object long is corrupt: its chunks hold more than its 2097157 bytes/);

    await store.put("whole", bytes);
    assert.deepEqual(await store.get("whole"), bytes, "an object left alone reads back whole");
  } finally {
    await env.close();
  }
});
