// A shard's rows: the growing segment that takes writes and the sealed
// segments before it, some of them served by query nodes (RemoteSegment).
// Invariant: a primary key is live in at most one segment, so a write of a
// key that lives in a sealed segment marks it dead there (last write wins)
// and reads can simply add up what each segment sees.
//
// A read is planned in one synchronous step: the local segments answer at
// once, and each query node is sent its segments with their dead slots as of
// that step. So every read sees one moment of the shard, and a segment is
// answered by exactly one side: handOff and takeBack swap its two forms
// between reads, never during one. A segment with copies on several query
// nodes (replicas) is read from one of them, in turn, so reads spread; a
// node that just failed a read is passed over while another copy is there.
import type { Hit } from "../../protocol/api.js";
import type { ColumnBatch } from "../../protocol/columns.js";
import { VecbusError } from "../../protocol/errors.js";
import type { GroupBy, QueryNodeMsg, QueryNodeReplies, RemoteScope, SearchRange, SegmentSlice } from "../../protocol/messages.js";
import type { PrimaryKey, Row } from "../../protocol/rows.js";
import { primaryField, type CollectionSchema, type MetricType } from "../../protocol/schema.js";
import { compileScope } from "../../engine/filter-scope.js";
import { GrowingSegment } from "../../engine/growing-segment.js";
import { compileProjection } from "../../engine/projection.js";
import { mergeRows, segmentsSearch } from "../../engine/reduce.js";
import { RemoteSegment, type SealedForm } from "../../engine/remote-segment.js";
import { SealedSegment } from "../../engine/sealed-segment.js";
import type { Segment } from "../../engine/segment.js";
import type { SegmentHead } from "../../engine/segment-format.js";
import { isUnavailable } from "../../runtime/rpc.js";

/** How long a query node that failed a read is passed over for another copy. */
const FAILED_NODE_AVOID_MS = 5_000;
/**
 * How long a segment that left the set keeps its file open: a read planned
 * before may still score it (a group-by's second round, after its query
 * nodes' first: they answer within the shard's 10 s or fail the read).
 */
const LEFT_CLOSE_MS = 30_000;

/** Whether a read that reached query nodes may succeed when planned again (on another copy, or once the node is back). */
export function remoteRetriable(e: unknown): boolean {
  return isUnavailable(e) || (e instanceof VecbusError && (e.code === "SHARD_NOT_READY" || e.code === "TIMEOUT"));
}

/** How a shard owner reaches query nodes. */
export type RemoteCall = <K extends QueryNodeMsg["kind"]>(node: string, msg: Extract<QueryNodeMsg, { kind: K }>) => Promise<QueryNodeReplies[K]>;

export interface SetSearch extends RemoteScope {
  vectors: Float32Array[];
  field: string;
  metric: MetricType;
  limit: number;
  output_fields: string[];
  range?: SearchRange;
  groupBy?: GroupBy;
  ef?: number;
}

/** One read's view: local segments, and per query node the slices it is asked for. */
interface Plan {
  local: Segment[];
  remote: Map<string, SegmentSlice[]>;
}

export class SegmentSet {
  private readonly pkField: string;
  private growing: GrowingSegment;
  private readonly remote: RemoteCall;
  /** Counts reads: the n-th read of a segment with copies goes to copy n mod copies. */
  private turn = 0;
  /** When a query node last failed a read, by node. */
  private readonly failedAt = new Map<string, number>();
  /** Reads waiting on each query node: failed at once when the node serves nothing of this set any more. */
  private readonly waiting = new Map<string, Set<(e: Error) => void>>();

  constructor(
    private readonly schema: CollectionSchema,
    private sealed: SealedForm[],
    private readonly collectionId: number,
    remote: RemoteCall,
  ) {
    this.pkField = primaryField(schema).name;
    this.growing = new GrowingSegment(schema);
    this.remote = (node, msg) =>
      new Promise((resolve, reject) => {
        const on = this.waiting.get(node) ?? new Set();
        this.waiting.set(node, on);
        on.add(reject);
        remote(node, msg)
          .then(resolve, (e: unknown) => {
            if (remoteRetriable(e)) this.failedAt.set(node, Date.now());
            reject(e);
          })
          .finally(() => on.delete(reject));
      });
  }

  /**
   * Fails the reads waiting on query nodes the placement no longer names, so
   * they are planned again on the copies left: a node that died with reads in
   * flight would hold them until their timeout.
   */
  dropReadsOutside(placed: ReadonlySet<string>): void {
    for (const [node, on] of this.waiting) {
      if (placed.has(node)) continue;
      this.waiting.delete(node);
      for (const reject of on) reject(new VecbusError("UNAVAILABLE", `query node ${node} left the placement (gone, or its segments moved); read again`));
    }
  }

  get rowCount(): number {
    return this.growing.rowCount + this.sealed.reduce((n, s) => n + s.rowCount, 0);
  }

  get growingSize(): number {
    return this.growing.size;
  }

  get sealedSegments(): readonly SealedForm[] {
    return this.sealed;
  }

  insert(batch: ColumnBatch, ts: bigint): void {
    const ids = batch.fields[this.pkField] as PrimaryKey[];
    for (const s of this.sealed) s.delete(ids);
    this.growing.insert(batch, ts);
  }

  delete(ids: PrimaryKey[]): number {
    return this.growing.delete(ids) + this.sealed.reduce((n, s) => n + s.delete(ids), 0);
  }

  /**
   * Turns the growing rows into a sealed segment (none when no row is live)
   * and starts an empty growing segment; sealed segments with no live row
   * left are dropped.
   */
  seal(head: SegmentHead): void {
    const columns = this.growing.sealColumns();
    this.growing = new GrowingSegment(this.schema);
    this.leave(this.sealed.filter((s) => s.rowCount === 0));
    this.sealed = this.sealed.filter((s) => s.rowCount > 0);
    if (columns) this.sealed.push(new SealedSegment(head, columns));
  }

  /** From now on query nodes answer for the segment; its rows here are dropped. */
  handOff(segmentId: number, nodes: string[]): boolean {
    const i = this.sealed.findIndex((s) => s.head.segment_id === segmentId);
    const s = this.sealed[i];
    if (!(s instanceof SealedSegment)) return false;
    this.sealed[i] = new RemoteSegment(s.head, s.keys, s.partitions, nodes);
    this.leave([s]);
    return true;
  }

  /**
   * Serves a sealed segment from `form` (the same rows, its vectors moved to
   * a file: SealedSegment.spill) from the next read on; false, and `form`
   * closed, when the segment left the set meanwhile.
   */
  swapForm(segment: SealedSegment, form: SealedSegment): boolean {
    const i = this.sealed.indexOf(segment);
    if (i < 0) {
      form.close();
      return false;
    }
    this.sealed[i] = form;
    return true;
  }

  /** The set serves no more reads: the files of its segments are closed once the reads in flight are done. */
  close(): void {
    this.leave(this.sealed);
  }

  /** Closes the files of segments that left the set, after the reads that may still score them. */
  private leave(gone: readonly SealedForm[]): void {
    const files = gone.filter((s): s is SealedSegment => s instanceof SealedSegment && s.onDisk);
    if (files.length > 0) setTimeout(() => files.forEach((s) => s.close()), LEFT_CLOSE_MS).unref();
  }

  /** Points a served segment at the nodes that now have it loaded. */
  reroute(segmentId: number, nodes: string[]): void {
    const s = this.sealed.find((x) => x.head.segment_id === segmentId);
    if (s instanceof RemoteSegment) s.serveFrom(nodes);
  }

  /** The copy one read uses: the turn's, among the nodes that have not failed lately. */
  private pick(s: RemoteSegment, turn: number): string {
    const now = Date.now();
    const healthy = s.nodes.filter((n) => !(now - (this.failedAt.get(n) ?? -Infinity) < FAILED_NODE_AVOID_MS));
    const from = healthy.length > 0 ? healthy : s.nodes;
    return from[turn % from.length];
  }

  /** A served segment whose node is gone, back from its blob: `load` gets the segment's keys, deletes included. Resolves with the segment taken back, if it still was to take. */
  async takeBack(segmentId: number, load: (keys: RemoteSegment["keys"]) => Promise<SealedSegment>): Promise<SealedSegment | undefined> {
    const s = this.sealed.find((x) => x.head.segment_id === segmentId);
    if (!(s instanceof RemoteSegment)) return undefined;
    const local = await load(s.keys);
    const i = this.sealed.indexOf(s);
    if (i < 0) return undefined;
    this.sealed[i] = local;
    return local;
  }

  /**
   * Compaction: `merged` holds the rows that were live in `sources` when the
   * data node read them; those that died since die in it too. False (and no
   * change) when a source is gone already.
   */
  replace(sources: number[], merged: SealedSegment): boolean {
    const olds = sources.map((id) => this.sealed.find((s) => s.head.segment_id === id));
    if (olds.some((s) => s === undefined)) return false;
    const dead = merged.keys.pks.filter((pk) => !olds.some((s) => s!.keys.liveSlot(pk) !== undefined));
    merged.delete(dead);
    this.sealed = [...this.sealed.filter((s) => !olds.includes(s)), merged];
    this.leave(olds as SealedForm[]);
    return true;
  }

  async search(req: SetSearch): Promise<Hit[][]> {
    const plan = this.plan();
    const project = compileProjection(this.schema, req.groupBy ? [...req.output_fields, req.groupBy.field] : req.output_fields);
    const scope = compileScope(this.schema, req);
    const g = req.groupBy;
    const nodes = [...plan.remote];
    const local = { queries: req.vectors, field: req.field, metric: req.metric, limit: req.limit, project, scope, range: req.range };
    const search = async (i: number, second?: GroupBy): Promise<Hit[][]> => {
      const groupBy = second ?? g;
      if (i < plan.local.length) return plan.local[i].search({ ...local, groupBy });
      const [node, segments] = nodes[i - plan.local.length];
      const { vectors, field, output_fields, range, ef, filter: text, partition_names } = req;
      return this.remote(node, {
        kind: "search",
        collection_id: this.collectionId,
        segments,
        vectors,
        anns_field: field,
        limit: req.limit,
        output_fields,
        range,
        group_by: groupBy,
        ef,
        metric_type: req.metric,
        filter: text,
        partition_names,
      });
    };
    return segmentsSearch(plan.local.length + nodes.length, search, { metric: req.metric, limit: req.limit, group: g });
  }

  async count(scope: RemoteScope): Promise<number> {
    const plan = this.plan();
    const compiled = compileScope(this.schema, scope);
    const local = plan.local.reduce((n, s) => n + s.count(compiled), 0);
    const remote = await this.fanOut(plan, (segments) => ({ kind: "count" as const, collection_id: this.collectionId, segments, ...remoteScope(scope) }));
    return remote.reduce((n, r) => n + r.count, local);
  }

  async query(outputFields: string[], limit: number, scope: RemoteScope): Promise<Row[]> {
    const plan = this.plan();
    const project = compileProjection(this.schema, outputFields);
    const compiled = compileScope(this.schema, scope);
    const local = plan.local.map((s) => s.query(project, limit, compiled));
    const remote = await this.fanOut(plan, (segments) => ({
      kind: "query" as const,
      collection_id: this.collectionId,
      segments,
      output_fields: outputFields,
      limit,
      ...remoteScope(scope),
    }));
    return mergeRows([...local, ...remote], this.pkField, 0, limit);
  }

  /** Runs in write order (delete by filter): its answer must be of the moment the delete is logged. */
  async matchingIds(scope: RemoteScope): Promise<PrimaryKey[]> {
    const plan = this.plan();
    const compiled = compileScope(this.schema, scope);
    if (!scope.filter && compiled.partitions) {
      // Dropping a partition: the owner knows every segment's partition labels, no query node is asked.
      const partitions = compiled.partitions;
      return [
        ...plan.local.flatMap((s) => s.matchingIds(compiled)),
        ...this.sealed.filter((s): s is RemoteSegment => s instanceof RemoteSegment).flatMap((s) => s.idsIn(partitions)),
      ];
    }
    const local = plan.local.flatMap((s) => s.matchingIds(compiled));
    const remote = await this.fanOut(plan, (segments) => ({ kind: "matching_ids" as const, collection_id: this.collectionId, segments, ...remoteScope(scope) }));
    return [...local, ...remote.flat()];
  }

  /** Each key is live in one segment at most, so the rows come back once each. */
  async get(ids: PrimaryKey[], outputFields: string[], partitions?: string[]): Promise<Row[]> {
    const project = compileProjection(this.schema, outputFields);
    const scope = compileScope(this.schema, { partition_names: partitions });
    const local = [this.growing, ...this.sealed.filter((s): s is SealedSegment => s instanceof SealedSegment)];
    const rows = local.flatMap((s) => s.get(ids, project, scope));
    const wanted = scope.partitions;
    const byNode = new Map<string, { shard: number; segment_id: number; slots: number[] }[]>();
    const turn = this.turn++;
    for (const s of this.sealed) {
      if (!(s instanceof RemoteSegment)) continue;
      const slots = ids.map((id) => s.keys.liveSlot(id)).filter((slot): slot is number => slot !== undefined && (!wanted || wanted.has(s.partitionAt(slot))));
      if (slots.length === 0) continue;
      const node = this.pick(s, turn);
      const list = byNode.get(node) ?? [];
      list.push({ shard: s.head.shard, segment_id: s.head.segment_id, slots });
      byNode.set(node, list);
    }
    const remote = await Promise.all(
      [...byNode].map(([node, segments]) => this.remote(node, { kind: "get", collection_id: this.collectionId, segments, output_fields: outputFields })),
    );
    return [...rows, ...remote.flat()];
  }

  private plan(): Plan {
    const local: Segment[] = [this.growing];
    const remote = new Map<string, SegmentSlice[]>();
    const turn = this.turn++;
    for (const s of this.sealed) {
      if (s instanceof SealedSegment) {
        local.push(s);
        continue;
      }
      if (s.rowCount === 0) continue;
      const node = this.pick(s, turn);
      const list = remote.get(node) ?? [];
      list.push({ shard: s.head.shard, segment_id: s.head.segment_id, dead: s.keys.deadSlots() });
      remote.set(node, list);
    }
    return { local, remote };
  }

  private fanOut<K extends "count" | "query" | "matching_ids">(plan: Plan, make: (segments: SegmentSlice[]) => Extract<QueryNodeMsg, { kind: K }>): Promise<QueryNodeReplies[K][]> {
    return Promise.all([...plan.remote].map(([node, segments]) => this.remote<K>(node, make(segments))));
  }
}

function remoteScope(scope: RemoteScope): RemoteScope {
  return { filter: scope.filter, partition_names: scope.partition_names };
}
