// Query node: loads the sealed segments the coordinator places on it and
// answers shard owners' reads of them. A segment is its blob (columns) plus
// the usearch files of its indexed fields, downloaded once into a local cache
// directory (objects never change, so a cached file is always good): keys
// and scalars are read into memory, vectors stay in the file and are read
// as rows are scored, indexes are opened as read-only views. Reads carry the segment's dead slots as of the
// read, so a query node keeps no delete state of its own.
//
// Placement: this node watches placement.<cid> keys; for every entry with a
// copy on it, it loads the segment (one at a time, to bound memory) and then
// marks its copy `loaded` by CAS: from then on the shard owner sends it the
// segment's reads and drops its own copy. A segment no longer placed here is
// dropped after a grace period (reads planned before the move may still come).
//
// Scalar indexes: the collection meta is watched; a field with a scalar
// index declared gets its index built from each loaded segment's column
// (at load, or when the index is declared), and filters on it use them.
//
// Takes: QueryNodeMsg on <prefix>.int.query.<node>.
// Reads: placement.>, segments.<cid>.<shard>, collections.> (meta bucket); segment and index objects.
// Writes: the `state` of its own copies in placement.<cid>.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { match } from "ts-pattern";
import type { Hit } from "../protocol/api.js";
import type { CollectionMeta } from "../protocol/collection.js";
import { VecbusError } from "../protocol/errors.js";
import { fieldMetric, scalarIndexed, usearchConfig } from "../protocol/indexes.js";
import { placementKey, sameBuilds, type GroupBy, type Placement, type PlacementCopy, type PlacementEntry, type QueryNodeMsg, type QueryNodeReplies, type SegmentSlice, type ShardSegments } from "../protocol/messages.js";
import { checkVector } from "../protocol/rows.js";
import { primaryField } from "../protocol/schema.js";
import { MetaKey } from "../protocol/subjects.js";
import { limit } from "../protocol/limits.js";
import { queryNodeMsg } from "../protocol/message-checks.js";
import { actorSession, type ActorContext } from "./context.js";
import { Mailbox } from "../runtime/mailbox.js";
import type { Session } from "../runtime/session.js";
import { compileScope } from "../engine/filter-scope.js";
import { BlobStore } from "../storage/object-store.js";
import { FileCache } from "../storage/file-cache.js";
import { compileProjection } from "../engine/projection.js";
import { mergeRows, segmentsSearch } from "../engine/reduce.js";
import { SealedSegment } from "../engine/sealed-segment.js";
import { VectorIndex } from "../engine/vector-index.js";
import { SearchThreads } from "../engine/search-threads.js";

/** How long a segment moved away stays answerable here. */
const UNLOAD_GRACE_MS = 5_000;

export interface QueryNodeOptions {
  /** Where downloaded segment and index files are kept; defaults to a directory under the OS temp dir. */
  cacheDir?: string;
}

/** A collection's meta as this node last heard it, and the fields its filters may answer from scalar indexes. */
interface Known {
  meta: CollectionMeta;
  indexed: Set<string>;
}

interface Loaded {
  collectionId: number;
  segment: SealedSegment;
  /** What the segment takes of the vector memory budget, and of the vector code budget. */
  vectorBytes: number;
  codeBytes: number;
  indexes: Map<string, VectorIndex>;
  builds: Record<string, number>;
  files: string[];
}

export class QueryNode {
  private readonly session: Session;
  private readonly cacheDir: string;
  private files: FileCache | undefined;
  private mailbox: Mailbox<QueryNodeMsg> | undefined;
  private watcher: { stop(): void } | undefined;
  /** By `<cid>/<placement key>`. */
  private readonly loaded = new Map<string, Loaded>();
  private readonly placements = new Map<number, Placement>();
  private loads: Promise<void> = Promise.resolve();
  /** Collection meta by id, with the fields that have a scalar index; fed by a watch. */
  private readonly collections = new Map<number, Known>();
  private metaWatcher: { stop(): void } | undefined;
  private stopped = false;
  /** Collections with a later look scheduled (a load failed or is not committed yet). */
  private readonly retrying = new Set<number>();
  /** Where the segments' HNSW graphs are walked. */
  private readonly searchThreads = new SearchThreads(limit("querySearchThreads"));
  /** Bytes of vector columns held in memory, within limit("queryVectorBytes"). */
  private vectorBytes = 0;
  /** Bytes of vector codes held, within limit("queryVectorCodeBytes"). */
  private codeBytes = 0;

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    opts: QueryNodeOptions = {},
  ) {
    this.session = actorSession(ctx, "query", nodeId, () => ({
      in_flight: this.mailbox?.active ?? 0,
      segments: this.loaded.size,
      indexes: [...this.loaded.values()].reduce((n, l) => n + l.indexes.size, 0),
      rows: [...this.loaded.values()].reduce((n, l) => n + l.segment.rowCount, 0),
      vector_bytes: this.vectorBytes,
      code_bytes: this.codeBytes,
    }));
    this.cacheDir = opts.cacheDir ?? path.join(os.tmpdir(), `vecbus-query-${nodeId}`);
  }

  async start(): Promise<void> {
    this.files = new FileCache(await BlobStore.open(this.ctx.js, this.ctx.names.objectBucket()), this.cacheDir);
    await this.files.open();
    this.mailbox = new Mailbox<QueryNodeMsg>(this.ctx.nc, {
      subject: this.ctx.names.querySubject(this.nodeId),
      maxInFlight: 16,
      check: (value) => queryNodeMsg(value, "message"),
      handle: (msg) => this.handle(msg),
      log: this.ctx.log,
    });
    await this.session.start();
    this.metaWatcher = await this.ctx.meta.watch<CollectionMeta>(MetaKey.collectionsPrefix, (_key, c) => c && this.known(c));
    this.watcher = await this.ctx.meta.watch<Placement>(MetaKey.placementPrefix, (key, p) => this.onPlacement(key, p));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.stop();
    this.metaWatcher?.stop();
    await this.mailbox?.stop();
    await this.loads;
    for (const l of this.loaded.values()) this.release(l, l.files);
    this.loaded.clear();
    await this.searchThreads.close();
    await this.session.stop();
  }

  private onPlacement(key: string, p: Placement | null): void {
    const cid = Number(key.slice(key.indexOf(".") + 1));
    if (p) this.placements.set(cid, p);
    else this.placements.delete(cid);
    this.loads = this.loads.then(() => this.reconcile(cid)).catch((e) => this.ctx.log.warn("loading segments failed; retrying", { collection_id: cid, error: String(e) }));
    void this.loads.then(() => {
      // Something failed or changed while loading: look again a little later.
      if (this.stopped || this.retrying.has(cid) || this.pending(cid).length === 0) return;
      this.retrying.add(cid);
      setTimeout(() => {
        this.retrying.delete(cid);
        this.onPlacement(key, this.placements.get(cid) ?? null);
      }, 1_000).unref();
    });
  }

  /** This node's entries of a collection that it has not loaded (or not with the placed builds). */
  private pending(cid: number): [string, PlacementEntry][] {
    const p = this.placements.get(cid);
    return Object.entries(p?.segments ?? {}).filter(([k, e]) => {
      const mine = this.copyOf(e);
      if (!mine) return false;
      const l = this.loaded.get(`${cid}/${k}`);
      return !l || !sameBuilds(l.builds, e.builds) || mine.state !== "loaded";
    });
  }

  private copyOf(e: PlacementEntry | undefined): PlacementCopy | undefined {
    return e?.copies.find((c) => c.node === this.nodeId);
  }

  private async reconcile(cid: number): Promise<void> {
    if (this.stopped) return;
    for (const [k, e] of this.pending(cid)) {
      const id = `${cid}/${k}`;
      const have = this.loaded.get(id);
      if (!have || !sameBuilds(have.builds, e.builds)) {
        const l = await this.load(cid, k, e);
        if (!l) continue;
        this.loaded.set(id, l);
        if (have) this.release(have, l.files);
      }
      await this.markLoaded(cid, k, e.builds);
    }
    const placed = this.placements.get(cid)?.segments ?? {};
    for (const [id, l] of this.loaded) {
      if (l.collectionId !== cid) continue;
      const k = id.slice(id.indexOf("/") + 1);
      if (this.copyOf(placed[k])) continue;
      setTimeout(() => {
        if (this.copyOf(this.placements.get(cid)?.segments[k]) || this.loaded.get(id) !== l) return;
        this.loaded.delete(id);
        this.release(l, []);
        this.ctx.log.info("unloaded segment", { collection_id: cid, segment: k });
      }, UNLOAD_GRACE_MS).unref();
    }
  }

  private async load(cid: number, k: string, e: PlacementEntry): Promise<Loaded | undefined> {
    const started = Date.now();
    const [shard, segmentId] = k.split("-").map(Number);
    const known = await this.collection(cid);
    const state = await this.ctx.meta.get<ShardSegments>(MetaKey.segments(cid, shard));
    const ref = state?.value.segments.find((s) => s.segment_id === segmentId);
    if (!known || !ref) return undefined;
    const meta = known.meta;
    const built = Object.entries(e.builds).map(([field, build]) => ({ field, ref: ref.indexes?.[field], declared: meta.indexes?.[field], build }));
    // The placement is ahead of (or behind) the index records: the next placement change brings us back.
    if (built.some((b) => !b.ref || b.ref.build !== b.build || !b.declared)) return undefined;
    const blobFile = await this.cached(ref.object);
    const files = [blobFile];
    const indexes = new Map<string, VectorIndex>();
    for (const b of built) {
      const file = await this.cached(b.ref!.object);
      files.push(file);
      const dim = meta.schema.fields.find((f) => f.name === b.field)!.dim!;
      indexes.set(b.field, new VectorIndex(file, dim, usearchConfig(b.declared!), await this.threadsFor(file)));
    }
    const segment = SealedSegment.open(blobFile, (bytes) => this.vectorBytes + bytes <= limit("queryVectorBytes"));
    const metrics = new Map(meta.schema.fields.filter((f) => f.type === "FloatVector").map((f) => [f.name, fieldMetric(meta, f.name)]));
    let codeBytes: number;
    try {
      // Scalar indexes first: the codes are laid out in the first one's order (the clustering key's).
      segment.useScalarIndexes(known.indexed);
      codeBytes = await segment.codeVectors(metrics, (bytes) => this.codeBytes + bytes <= limit("queryVectorCodeBytes"), this.searchThreads);
    } catch (e) {
      segment.close();
      for (const ix of indexes.values()) ix.close();
      throw e;
    }
    this.vectorBytes += segment.vectorBytes;
    this.codeBytes += codeBytes;
    this.ctx.log.info("loaded segment", {
      collection: meta.name,
      shard,
      segment: segmentId,
      rows: segment.rowCount,
      indexes: [...indexes.keys(), ...known.indexed],
      vectors_in_memory: segment.vectorBytes > 0,
      vector_codes: codeBytes > 0,
      ms: Date.now() - started,
    });
    return { collectionId: cid, segment: segment.withIndexes(indexes), vectorBytes: segment.vectorBytes, codeBytes, indexes, builds: e.builds, files };
  }

  private release(l: Loaded, keep: string[]): void {
    this.vectorBytes -= l.vectorBytes;
    this.codeBytes -= l.codeBytes;
    l.segment.close();
    for (const ix of l.indexes.values()) ix.close();
    void this.files!.remove(l.files, keep);
  }

  /**
   * A large index's graph is walked on a search thread, a small one's on the
   * event loop. Measured by switching between the two every 3,000 searches
   * (16 in flight) in one `vecbus serve`: over two 500k-row 128-d segments
   * (334 MB index files) 809 against 575 QPS, medians of six windows each;
   * over one of 100k rows (66 MB) 3,608 against 3,581, for 16% more CPU a
   * search, and at 1 in flight the hand-over and the thread's wake-up add
   * ~0.5 ms. A file is viewed in one place only: a page mapped twice counts
   * twice in resident memory.
   */
  private async threadsFor(file: string): Promise<SearchThreads | undefined> {
    return (await fs.promises.stat(file)).size > limit("queryThreadIndexBytes") ? this.searchThreads : undefined;
  }

  private async markLoaded(cid: number, k: string, builds: Record<string, number>): Promise<void> {
    await this.ctx.meta.casUpdate<Placement>(MetaKey.placement(cid), (p) => {
      const e = p?.segments[k];
      const mine = this.copyOf(e);
      if (!p || !e || !mine || mine.state === "loaded" || !sameBuilds(e.builds, builds)) return undefined;
      const copies = e.copies.map((c) => (c === mine ? { ...c, state: "loaded" as const } : c));
      return { ...p, segments: { ...p.segments, [k]: { ...e, copies } } };
    });
  }

  /**
   * An object's local copy, downloaded on first use. The file is named by
   * the object's name and digest: names repeat across stores (a data dir made
   * anew, another vecbus on the host with the same node id), contents do not.
   */
  private cached(object: string): Promise<string> {
    return this.files!.file(object, "placed on this node");
  }

  /** A collection's meta read from the bucket now (the watch may not have delivered it yet). */
  private async collection(cid: number): Promise<Known | undefined> {
    const all = await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix);
    const meta = [...all.values()].map((v) => v.value).find((c) => c.id === cid);
    return meta && this.known(meta);
  }

  /** Keeps a collection's latest meta; the segments loaded here build the scalar indexes it declares and drop the others. */
  private known(meta: CollectionMeta): Known {
    const known = { meta, indexed: scalarIndexed(meta) };
    this.collections.set(meta.id, known);
    for (const l of this.loaded.values()) if (l.collectionId === meta.id) l.segment.useScalarIndexes(known.indexed);
    return known;
  }

  private async handle(msg: QueryNodeMsg): Promise<QueryNodeReplies[QueryNodeMsg["kind"]]> {
    const known = this.collections.get(msg.collection_id) ?? (await this.collection(msg.collection_id));
    if (!known) throw new VecbusError("COLLECTION_NOT_FOUND", `collection ${msg.collection_id} is not known to query node ${this.nodeId}`);
    const { meta, indexed } = known;
    const schema = meta.schema;
    return match(msg)
      .with({ kind: "search" }, async (m) => {
        const field = schema.fields.find((f) => f.name === m.anns_field);
        if (!field) throw new VecbusError("FIELD_NOT_FOUND", `"${m.anns_field}" is not a vector field of "${meta.name}"`);
        const segments = this.views(m.collection_id, m.segments);
        const metric = m.metric_type ?? fieldMetric(meta, field.name);
        const req = {
          queries: m.vectors.map((v, i) => checkVector(field, v, `data[${i}]`)),
          field: field.name,
          metric,
          limit: m.limit,
          project: compileProjection(schema, m.group_by ? [...m.output_fields, m.group_by.field] : m.output_fields),
          scope: compileScope(schema, m, indexed),
          range: m.range,
          ef: m.ef ?? undefined,
        };
        const group = m.group_by ?? undefined;
        const search = (i: number, second?: GroupBy): Promise<Hit[][]> => segments[i].searchAsync({ ...req, groupBy: second ?? group });
        return segmentsSearch(segments.length, search, { metric, limit: m.limit, group });
      })
      .with({ kind: "query" }, async (m) => {
        const project = compileProjection(schema, m.output_fields);
        const scope = compileScope(schema, m, indexed);
        return mergeRows(this.views(m.collection_id, m.segments).map((s) => s.query(project, m.limit, scope)), primaryField(schema).name, 0, m.limit);
      })
      .with({ kind: "count" }, async (m) => {
        const scope = compileScope(schema, m, indexed);
        return { count: this.views(m.collection_id, m.segments).reduce((n, s) => n + s.count(scope), 0) };
      })
      .with({ kind: "matching_ids" }, async (m) => {
        const scope = compileScope(schema, m, indexed);
        return this.views(m.collection_id, m.segments).flatMap((s) => s.matchingIds(scope));
      })
      .with({ kind: "get" }, async (m) => {
        const project = compileProjection(schema, m.output_fields);
        return m.segments.flatMap((s) => this.segment(m.collection_id, s).rowsAt(s.slots, project));
      })
      .exhaustive();
  }

  private segment(cid: number, s: { shard: number; segment_id: number }): SealedSegment {
    const l = this.loaded.get(`${cid}/${placementKey(s.shard, s.segment_id)}`);
    if (!l) throw new VecbusError("SHARD_NOT_READY", `segment ${s.segment_id} of shard ${s.shard} is not loaded on query node ${this.nodeId} (yet); try again`);
    return l.segment;
  }

  /** Each slice's segment as of the read: the shard owner's dead slots instead of any of our own. */
  private views(cid: number, slices: SegmentSlice[]): SealedSegment[] {
    return slices.map((s) => this.segment(cid, s).withDead(s.dead));
  }
}
