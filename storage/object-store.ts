// Blob storage for sealed segments on a NATS object store bucket. Segment
// files are written once under a unique name and never modified, so there is
// no revision handling here: replacing a segment means writing a new name.
import { createHash } from "node:crypto";
import fs from "node:fs";
import { Objm, setSha256Backend, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import { toJetStreamClient } from "@nats-io/jetstream/internal";
import { VecbusError } from "../protocol/errors.js";
import { limit, limitText } from "../protocol/limits.js";
import { storeFullError } from "./stream-bounds.js";

// The object store digests every object with SHA-256, in pure JS by default:
// profiled at ~45% of a busy vecbus process's main thread during the 1M-row
// run. node:crypto does it natively, off the JS hot path.
setSha256Backend("native");

/** The client clamps larger chunks to max_payload anyway; 1 MiB keeps each message well under it. */
const CHUNK_BYTES = 1 << 20;

/**
 * Chunks a read pulls ahead of what it has handed on. The client's own
 * get() takes them as fast as the server sends them, however slowly they
 * are written out. Measured (a 600 MB object to a file, in a process of its
 * own): with get() the process grew by ~540 MB, and 176 MB of the
 * allocator's heap stayed resident after a GC; a 1M-row `vecbus serve` kept
 * 573 MB of heap after its query node loaded the segment. Pulled 8 at a
 * time: ~100 MB (chunks not yet collected), and the read took 2.7-3.0 s
 * instead of 3.5-3.8. spec/storage/object-store.test.ts bounds it.
 */
const READ_AHEAD_CHUNKS = 8;

const DIGEST_PREFIX = "SHA-256=";

export class BlobStore {
  private constructor(
    private readonly os: ObjectStore,
    private readonly js: JetStreamClient,
    private readonly bucket: string,
    private readonly chunkIdleMs: number | undefined,
  ) {}

  /**
   * Through `js` (its JetStream domain: an edge site reaches the hub's) or a
   * connection's own JetStream. `chunkIdleMs`: a read that gets no chunk for
   * that long fails instead of waiting on (an edge site's chunks can be lost
   * on its leaf link, and the read would never end).
   */
  static async open(js: NatsConnection | JetStreamClient, bucket: string, opts: { chunkIdleMs?: number } = {}): Promise<BlobStore> {
    const maxBytes = limit("objectBytes");
    const os = await new Objm(js).create(bucket, { storage: "file", replicas: limit("replicas"), ...(maxBytes > 0 ? { max_bytes: maxBytes } : {}) });
    // The client Objm itself reads through: the same JetStream (domain) for chunks as for infos.
    return new BlobStore(os, toJetStreamClient(js), bucket, opts.chunkIdleMs);
  }

  /** Stores `bytes`, or parts streamed one after another as one object (not copied into one buffer first). */
  async put(name: string, bytes: Uint8Array | readonly Uint8Array[], metadata: Record<string, string> = {}): Promise<void> {
    const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
    let [part, at, streamed] = [0, 0, 0];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        while (part < parts.length && at >= parts[part].byteLength) [part, at] = [part + 1, 0];
        if (part >= parts.length) return controller.close();
        // Cut at the object's chunk boundaries: the client then sends a chunk from one piece, not copied together.
        const piece = parts[part].subarray(at, at + CHUNK_BYTES - (streamed % CHUNK_BYTES));
        at += piece.byteLength;
        streamed += piece.byteLength;
        controller.enqueue(piece);
      },
    });
    await this.store(name, metadata, stream);
  }

  private async store(name: string, metadata: Record<string, string>, stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      await this.os.put({ name, metadata, options: { max_chunk_size: CHUNK_BYTES } }, stream);
    } catch (e) {
      throw storeFullError(e, "the segment object store", `compact or drop collections, raise its bound (${limitText("objectBytes")}), or give the server more storage`) ?? e;
    }
  }

  /** Stores a local file's bytes, read a chunk at a time (a large index is never held in memory whole). */
  async putFile(name: string, file: string, metadata: Record<string, string> = {}): Promise<void> {
    const handle = await fs.promises.open(file, "r");
    try {
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const chunk = new Uint8Array(CHUNK_BYTES);
          const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
          if (bytesRead === 0) controller.close();
          else controller.enqueue(chunk.subarray(0, bytesRead));
        },
      });
      await this.store(name, metadata, stream);
    } finally {
      await handle.close();
    }
  }

  /**
   * The blob's bytes, or null when there is no such object. Chunks are
   * copied into one buffer of the object's size as they come: gathered
   * first and joined at the end, a segment's and an index's 1 MiB chunks
   * (~600 MB for two 500k-row segments) stayed resident in the allocator's
   * heap after they were freed.
   */
  async get(name: string): Promise<Uint8Array | null> {
    let out = new Uint8Array(0);
    let at = 0;
    const found = await this.read(name, (size) => {
      out = new Uint8Array(size);
      return (chunk) => {
        out.set(chunk, at);
        at += chunk.byteLength;
      };
    });
    return found ? out.subarray(0, at) : null;
  }

  /** Writes the blob to a local file a chunk at a time (never whole in memory); false (and no file) when there is no such object. */
  async getToFile(name: string, file: string): Promise<boolean> {
    const handle = await fs.promises.open(file, "w");
    let found = false;
    try {
      found = await this.read(name, () => async (chunk) => {
        for (let at = 0; at < chunk.byteLength; ) at += (await handle.write(chunk, at, chunk.byteLength - at)).bytesWritten;
      });
      return found;
    } finally {
      await handle.close();
      if (!found) await fs.promises.rm(file, { force: true });
    }
  }

  /**
   * Hands the object's chunks in order to the sink made for its size, then
   * checks its digest (a failed check throws). A sink that answers "enough"
   * ends the read there, unchecked: the digest covers the whole object.
   * False when there is no such object.
   */
  private async read(name: string, sink: (size: number) => (chunk: Uint8Array) => unknown): Promise<boolean> {
    const info = await this.os.info(name);
    if (!info || info.deleted) return false;
    const write = sink(info.size);
    if (info.size === 0) return true;
    // The object's chunks in order, pulled READ_AHEAD_CHUNKS at a time as they are handed on (an ordered pull consumer).
    const consumer = await this.js.consumers.get(`OBJ_${this.bucket}`, { filter_subjects: `$O.${this.bucket}.C.${info.nuid}` });
    const messages = await consumer.consume({ max_messages: READ_AHEAD_CHUNKS });
    const chunks = messages[Symbol.asyncIterator]();
    const hash = createHash("sha256");
    let got = 0;
    try {
      while (got < info.size) {
        const next = chunks.next();
        const { done, value } = await (this.chunkIdleMs === undefined ? next : withinIdle(next, this.chunkIdleMs, name));
        if (done) throw new VecbusError("UNAVAILABLE", `object ${name}: its read stopped after ${got} of its ${info.size} bytes`);
        const chunk = value.data;
        if (got + chunk.byteLength > info.size) throw corrupt(name, `its chunks hold more than its ${info.size} bytes`);
        got += chunk.byteLength;
        hash.update(chunk);
        if (chunk.byteLength > 0 && (await write(chunk)) === "enough") return true;
        // The server counts the chunks still to come: none while bytes are missing is a chunk lost, not one late.
        if (value.info.pending === 0 && got < info.size) throw corrupt(name, `its chunks end after ${got} of its ${info.size} bytes`);
      }
    } finally {
      messages.stop();
    }
    if (!sameDigest(info.digest, hash.digest())) throw corrupt(name, "its bytes do not match its SHA-256 digest");
    return true;
  }

  /**
   * The first bytes of a blob: chunks are read until `needed(bytes so far)`
   * names a length they reach, and the rest is not fetched. The object's
   * digest covers the whole object, so a prefix is not checked (a read that
   * reaches the end is): the caller checks what it decodes. Null when there
   * is no such object.
   */
  async getPrefix(name: string, needed: (head: Uint8Array) => number | undefined): Promise<Uint8Array | null> {
    const chunks: Uint8Array[] = [];
    let have = 0;
    let want: number | undefined;
    const found = await this.read(name, () => (chunk) => {
      chunks.push(chunk);
      have += chunk.byteLength;
      // The length is known from the head (usually within the first chunk).
      want ??= needed(concat(chunks, have));
      return want !== undefined && have >= want ? "enough" : undefined;
    });
    return found ? concat(chunks, have) : null;
  }

  /** The object's size in bytes, or undefined when there is no such object. */
  async size(name: string): Promise<number | undefined> {
    const info = await this.os.info(name);
    return info && !info.deleted ? info.size : undefined;
  }

  /** The object's SHA-256 digest as the store keeps it, or undefined when there is no such object. */
  async digest(name: string): Promise<string | undefined> {
    const info = await this.os.info(name);
    return info && !info.deleted ? info.digest : undefined;
  }

  /** Deletes the object if it exists (a deleted object keeps an info entry, marked deleted). */
  async delete(name: string): Promise<void> {
    const info = await this.os.info(name);
    if (info && !info.deleted) await this.os.delete(name);
  }

  async list(): Promise<{ name: string; size: number; metadata: Record<string, string> }[]> {
    const all = await this.os.list();
    return all.filter((o) => !o.deleted).map((o) => ({ name: o.name, size: o.size, metadata: o.metadata ?? {} }));
  }
}

function corrupt(name: string, what: string): VecbusError {
  return new VecbusError("INTERNAL", `object ${name} is corrupt: ${what}`);
}

/** The store keeps "SHA-256=" and the digest in padded base64url; base64 decoding takes either alphabet. */
function sameDigest(stored: string, computed: Buffer): boolean {
  return stored.startsWith(DIGEST_PREFIX) && Buffer.from(stored.slice(DIGEST_PREFIX.length), "base64").equals(computed);
}

function withinIdle<T>(read: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VecbusError("UNAVAILABLE", `object ${name}: no chunk came for ${ms} ms`)), ms);
  });
  return Promise.race([read, idle]).finally(() => clearTimeout(timer));
}

function concat(chunks: Uint8Array[], bytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
