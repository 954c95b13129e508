// A shard's flushed state: sealed segment blobs and delete logs in the object
// store, committed by one compare-and-set of the shard's segments key.
//
// Crash safety. A flush (1) writes new objects under names nothing committed
// uses (see ObjectName), (2) commits them with the checkpoint by CAS, (3) then purges the WAL
// through the checkpoint, (4) then deletes the objects of segments with no
// live row left. Before (2) completes the key still names the previous state
// and the WAL still holds every record after its checkpoint: what (1) wrote
// is garbage, never read. After (2) the key and the objects hold every
// record up to the checkpoint and the WAL every record after it, so a crash
// before (3) or (4) only leaves records or objects no one needs.
//
// Fencing. Opening a shard claims the key: it writes the owner's epoch by
// CAS, refusing a key already written by a higher epoch. Every commit is a
// CAS on the revision the owner last wrote, so once a newer owner has claimed
// the key, an older owner's commit fails and it can purge nothing.
import { VecbusError } from "../protocol/errors.js";
import type { SegmentRef, ShardSegments } from "../protocol/messages.js";
import type { PrimaryKey } from "../protocol/rows.js";
import { MetaKey, ObjectName } from "../protocol/subjects.js";
import { decode, encode } from "../runtime/codec.js";
import type { Logger } from "../runtime/log.js";
import type { MetaStore } from "./meta-store.js";
import type { BlobStore } from "./object-store.js";
import { RemoteSegment, type SealedForm } from "../engine/remote-segment.js";
import { SealedSegment } from "../engine/sealed-segment.js";
import { SegmentKeys } from "../engine/segment-keys.js";
import { decodeKeyColumns, headOf, keyColumnsEnd } from "../engine/segment-format.js";
import { comparePk } from "../engine/reduce.js";
import type { ShardWal } from "./wal.js";

const OPEN_PARALLEL = 2;

export interface ShardRef {
  collectionId: number;
  shard: number;
  epoch: number;
}

export interface StoreDeps {
  meta: MetaStore;
  blobs: BlobStore;
  wal: ShardWal;
  log: Logger;
}

/** Taken where writes are serialized: every sealed segment and how many deletes it had then. */
export interface FlushSnapshot {
  /** The last WAL sequence applied: the segments reflect every record up to it. */
  checkpoint: number;
  segments: { segment: SealedForm; deletions: number }[];
  /** Segments already in the object store, not committed yet (a compaction's output). */
  uploaded?: Map<number, SegmentRef>;
}

interface Committed {
  ref: SegmentRef;
  /** How many of the segment's deletes its delete logs hold. */
  logged: number;
}

export class SegmentStore {
  /** Set once a commit found the key written by someone else: a newer owner, so this one uploads nothing more. */
  private fenced = false;

  private constructor(
    private readonly deps: StoreDeps,
    private readonly shard: ShardRef,
    private revision: number,
    private checkpointSeq: number,
    private committed: Map<number, Committed>,
  ) {}

  /**
   * Claims the shard's key for this owner and loads the committed segments
   * with their deletes applied. A segment `servedBy` names query nodes for
   * keeps only its keys here (RemoteSegment). Two blobs at a time, so a
   * restart holds two segments' rows at most beyond what it keeps.
   */
  static async open(deps: StoreDeps, shard: ShardRef, servedBy: (segmentId: number) => string[] = () => []): Promise<{ store: SegmentStore; segments: SealedForm[] }> {
    const key = MetaKey.segments(shard.collectionId, shard.shard);
    const claimed = await deps.meta.casVersioned<ShardSegments>(key, (cur) => {
      if (cur && cur.epoch > shard.epoch) {
        throw new VecbusError("SHARD_NOT_READY", `shard ${shard.shard} of collection ${shard.collectionId} belongs to a newer owner (epoch ${cur.epoch} > ${shard.epoch})`);
      }
      return { ...(cur ?? { collection_id: shard.collectionId, shard: shard.shard, checkpoint_seq: 0, segments: [] }), epoch: shard.epoch };
    });
    const state = claimed!.value;
    if (deps.wal.lastSeq < state.checkpoint_seq) {
      throw new VecbusError("INTERNAL", `the WAL ${deps.wal.loc.stream} ends at ${deps.wal.lastSeq}, before the checkpoint ${state.checkpoint_seq}: the stream was reset`);
    }
    const segments: SealedForm[] = [];
    for (let i = 0; i < state.segments.length; i += OPEN_PARALLEL) {
      const open = (ref: SegmentRef): Promise<SealedForm> => {
        const nodes = servedBy(ref.segment_id);
        return nodes.length > 0 ? loadKeys(deps.blobs, ref, nodes) : load(deps.blobs, ref);
      };
      segments.push(...(await Promise.all(state.segments.slice(i, i + OPEN_PARALLEL).map(open))));
    }
    const committed = new Map(state.segments.map((ref, i) => [ref.segment_id, { ref, logged: segments[i].keys.deletedCount }]));
    return { store: new SegmentStore(deps, shard, claimed!.revision, state.checkpoint_seq, committed), segments };
  }

  /** The WAL sequence the committed segments reflect. */
  get checkpoint(): number {
    return this.checkpointSeq;
  }

  /**
   * Writes what the snapshot has that the committed state lacks and commits
   * it; resolves with the number of segments written. Calls must not overlap
   * and must come in snapshot order.
   */
  async commit(snap: FlushSnapshot): Promise<number> {
    if (this.fenced) throw this.replaced();
    const sameSegments = snap.segments.length === this.committed.size && snap.segments.every((s) => this.committed.has(s.segment.head.segment_id));
    if (snap.checkpoint < this.checkpointSeq || (snap.checkpoint === this.checkpointSeq && sameSegments)) return 0;
    const refs: SegmentRef[] = [];
    const logged = new Map<number, number>();
    let written = 0;
    for (const { segment, deletions } of snap.segments) {
      const id = segment.head.segment_id;
      const prev = this.committed.get(id);
      let ref = prev?.ref ?? snap.uploaded?.get(id);
      if (!ref) {
        if (!(segment instanceof SealedSegment)) throw new VecbusError("INTERNAL", `segment ${id} is served by a query node but was never committed`);
        ref = await this.upload(segment);
        written++;
      }
      const from = prev?.logged ?? 0;
      if (deletions > from) ref = { ...(await this.logDeletes(ref, segment.keys.deletedPks(from, deletions), from)), deleted_count: deletions };
      refs.push(ref);
      logged.set(id, deletions);
    }
    const { collectionId: collection_id, shard, epoch } = this.shard;
    const key = MetaKey.segments(collection_id, shard);
    for (;;) {
      const next: ShardSegments = { collection_id, shard, epoch, checkpoint_seq: snap.checkpoint, segments: refs };
      try {
        this.revision = await this.deps.meta.update(key, next, this.revision);
        break;
      } catch (e) {
        if (!(e instanceof VecbusError && e.code === "CONFLICT")) throw e;
        // Data nodes (recording a built index) and the coordinator (dropping one) change the key
        // too, but only the segments' `indexes`: same epoch, same checkpoint. Take theirs and retry.
        const cur = await this.deps.meta.get<ShardSegments>(key);
        if (!cur || cur.value.epoch !== epoch || cur.value.checkpoint_seq !== this.checkpointSeq) {
          this.fenced = true;
          throw this.replaced();
        }
        const theirs = new Map(cur.value.segments.map((r) => [r.segment_id, r.indexes]));
        const withIndexes = (r: SegmentRef): SegmentRef => {
          // A segment not committed yet (a compaction's output) keeps the indexes it came with.
          if (!theirs.has(r.segment_id)) return r;
          const { indexes: _mine, ...rest } = r;
          const ix = theirs.get(r.segment_id);
          return ix && Object.keys(ix).length > 0 ? { ...rest, indexes: ix } : rest;
        };
        for (let i = 0; i < refs.length; i++) refs[i] = withIndexes(refs[i]);
        for (const c of this.committed.values()) c.ref = withIndexes(c.ref);
        this.revision = cur.revision;
      }
    }
    const dropped = [...this.committed.values()].filter((c) => !logged.has(c.ref.segment_id)).map((c) => c.ref);
    this.checkpointSeq = snap.checkpoint;
    this.committed = new Map(refs.map((ref) => [ref.segment_id, { ref, logged: logged.get(ref.segment_id)! }]));
    await this.cleanUp(snap.checkpoint, dropped);
    return written;
  }

  /** A segment uploaded by someone else (a compaction), to be committed by this owner. */
  async fetch(ref: SegmentRef): Promise<SealedSegment> {
    return SealedSegment.decode(await mustGet(this.deps.blobs, ref.object));
  }

  /** A committed segment again from its blob, with keys that already know its deletes (a handoff reversed). */
  async reload(segmentId: number, keys: SegmentKeys): Promise<SealedSegment> {
    const c = this.committed.get(segmentId);
    if (!c) throw new VecbusError("INTERNAL", `segment ${segmentId} of shard ${this.shard.shard} is not committed`);
    return SealedSegment.decode(await mustGet(this.deps.blobs, c.ref.object), keys);
  }

  private replaced(): VecbusError {
    return new VecbusError("SHARD_NOT_READY", `shard ${this.shard.shard} of collection ${this.shard.collectionId} has a newer owner than epoch ${this.shard.epoch}`);
  }

  private async upload(segment: SealedSegment): Promise<SegmentRef> {
    const started = Date.now();
    const { parts, byteLength, manifest } = segment.encode();
    const object = ObjectName.segment(this.shard.collectionId, this.shard.shard, manifest.segment_id, this.shard.epoch);
    await this.deps.blobs.put(object, parts);
    const ms = Date.now() - started;
    this.deps.log.info("flushed segment", { object, rows: manifest.row_count, bytes: byteLength, ms, mbPerS: Math.round(byteLength / 1e3 / Math.max(ms, 1)) });
    const { segment_id, row_count, seq_from, seq_to } = manifest;
    return { segment_id, object, row_count, seq_from, seq_to, pk_min: manifest.pk.min, pk_max: manifest.pk.max, delete_logs: [], state: "flushed" };
  }

  private async logDeletes(ref: SegmentRef, pks: PrimaryKey[], first: number): Promise<SegmentRef> {
    const name = ObjectName.deleteLog(this.shard.collectionId, this.shard.shard, ref.segment_id, first, this.shard.epoch);
    await this.deps.blobs.put(name, encode(pks));
    return { ...ref, delete_logs: [...ref.delete_logs, name] };
  }

  /** After a commit nothing here is needed for correctness: a failure is logged, and the next flush purges further. */
  private async cleanUp(checkpoint: number, dropped: SegmentRef[]): Promise<void> {
    try {
      await this.deps.wal.purgeThrough(checkpoint);
      for (const ref of dropped) {
        for (const name of [ref.object, ...ref.delete_logs, ...Object.values(ref.indexes ?? {}).map((i) => i.object)]) await this.deps.blobs.delete(name);
      }
    } catch (e) {
      this.deps.log.warn("cleaning up after a flush failed", { stream: this.deps.wal.loc.stream, checkpoint, error: String(e) });
    }
  }
}

function load(blobs: BlobStore, ref: SegmentRef): Promise<SealedSegment> {
  return loadSegment(ref, (name) => mustGet(blobs, name));
}

/** A committed segment with its delete logs applied; `get` reads an object (an edge replica reads the segment blob from its cache). */
export async function loadSegment(ref: SegmentRef, get: (name: string) => Promise<Uint8Array>): Promise<SealedSegment> {
  const segment = SealedSegment.decode(await get(ref.object));
  for (const name of ref.delete_logs) segment.delete(decode(await get(name)) as PrimaryKey[]);
  return segment;
}

/** A segment a query node serves, as its owner keeps it: keys (deletes applied) and partition labels, read from the head of its blob. */
async function loadKeys(blobs: BlobStore, ref: SegmentRef, nodes: string[]): Promise<RemoteSegment> {
  const prefix = await blobs.getPrefix(ref.object, keyColumnsEnd);
  if (!prefix) throw missing(ref.object);
  const { manifest, pks, partitions } = decodeKeyColumns(prefix);
  // The digest covers the whole object and a prefix skips it: the keys must agree with what the commit recorded.
  if (manifest.segment_id !== ref.segment_id || manifest.row_count !== ref.row_count || !samePk(manifest.pk.min, ref.pk_min) || !samePk(manifest.pk.max, ref.pk_max)) {
    throw new VecbusError("INTERNAL", `the keys read from ${ref.object} do not match its committed record (rows, key range)`);
  }
  const keys = new SegmentKeys(pks);
  for (const name of ref.delete_logs) keys.delete(decode(await mustGet(blobs, name)) as PrimaryKey[]);
  return new RemoteSegment(headOf(manifest), keys, partitions, nodes);
}

function samePk(a: PrimaryKey | null, b: PrimaryKey | null): boolean {
  return a === null || b === null ? a === b : comparePk(a, b) === 0;
}

export async function mustGet(blobs: BlobStore, name: string): Promise<Uint8Array> {
  const bytes = await blobs.get(name);
  if (!bytes) throw missing(name);
  return bytes;
}

function missing(name: string): VecbusError {
  return new VecbusError("INTERNAL", `object ${name} is committed in the meta store but missing from the object store`);
}
