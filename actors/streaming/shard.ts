// One shard owned by this streaming node: its WAL, its growing segment, and
// the mailbox on the shard's subject. Writes are appended to the WAL one at a
// time in arrival order and applied to the segment only after JetStream acks
// them, so the segment is always a prefix of the WAL.
import { match } from "ts-pattern";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ReadScope, ShardMsg, ShardReplies, WalRecord } from "../../protocol/messages.js";
import { partitionOf } from "../../protocol/partitions.js";
import { checkVector, type PrimaryKey, type Row } from "../../protocol/rows.js";
import { primaryField, vectorFields, type CollectionSchema, type FieldSchema } from "../../protocol/schema.js";
import { decodeMap } from "../../runtime/codec.js";
import type { ActorContext } from "../../runtime/context.js";
import { Mailbox } from "../../runtime/mailbox.js";
import { compileFilterText, type RowPredicate } from "../../storage/filter-eval.js";
import { GrowingSegment } from "../../storage/growing-segment.js";
import { compileProjection } from "../../storage/projection.js";
import { COUNT_ALL } from "../../storage/reduce.js";
import { ShardWal } from "../../storage/wal.js";
import type { TimestampPool } from "./ts-pool.js";

const TICK_INTERVAL_MS = 200;
const READ_WAIT_MAX_MS = 5_000;

interface WriteResult {
  count: number;
  timestamp: bigint;
}

export class Shard {
  private mailbox: Mailbox<ShardMsg> | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private pendingWrites = 0;
  private readonly segment: GrowingSegment;
  /** Every vector field: rows arrive with them as msgpack bin and are revived to Float32Array. */
  private readonly vectorFields: FieldSchema[];
  private readonly pkField: string;

  /** Every write with a smaller timestamp is applied: the shard's "safe" time for consistency waits. */
  private appliedTs = 0n;
  private tickTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly ctx: ActorContext,
    readonly meta: CollectionMeta,
    readonly shard: number,
    readonly epoch: number,
    private readonly wal: ShardWal,
    private readonly clock: TimestampPool,
  ) {
    this.vectorFields = vectorFields(meta.schema);
    this.pkField = primaryField(meta.schema).name;
    this.segment = new GrowingSegment(this.pkField);
  }

  /** Rebuilds the growing segment from the whole WAL, then starts serving. */
  static async open(ctx: ActorContext, meta: CollectionMeta, shard: number, epoch: number, clock: TimestampPool): Promise<Shard> {
    const wal = await ShardWal.open(ctx.js, ctx.jsm, {
      stream: ctx.names.walStream(meta.id, shard),
      subject: ctx.names.walSubject(meta.id, shard),
    });
    const s = new Shard(ctx, meta, shard, epoch, wal, clock);
    const started = Date.now();
    const records = await wal.replay(0, (rec) => s.apply(rec));
    ctx.log.info("opened shard", { collection: meta.name, shard, epoch, records, rows: s.segment.rowCount, ms: Date.now() - started });
    s.mailbox = new Mailbox<ShardMsg>(ctx.nc, {
      subject: ctx.names.shardSubject(meta.id, shard),
      // One subscriber answers even if two nodes briefly both think they own the shard.
      queue: `shard-${meta.id}-${shard}`,
      maxInFlight: 32,
      parse: (data) => decodeMap(data) as ShardMsg,
      handle: (msg) => s.handle(msg),
      log: ctx.log,
    });
    s.tickTimer = setInterval(() => void s.tick().catch(() => undefined), TICK_INTERVAL_MS);
    s.tickTimer.unref();
    return s;
  }

  async close(): Promise<void> {
    clearInterval(this.tickTimer);
    await this.mailbox?.stop();
    await this.writes.catch(() => undefined);
  }

  private async handle(msg: ShardMsg): Promise<ShardReplies[ShardMsg["kind"]]> {
    // An absent field arrives as nil from clients of other languages: treat both as "no guarantee".
    if ("guarantee_ts" in msg && msg.guarantee_ts != null) await this.waitFor(msg.guarantee_ts);
    return match(msg)
      .with({ kind: "insert" }, (m) => this.onInsert(m.rows))
      .with({ kind: "delete" }, (m) => {
        const inScope = this.scope(m);
        // Without a partition restriction every id is deleted, present or not (it may be in flight).
        return this.onDelete(() => (inScope ? this.segment.get(m.ids, (r) => r).filter(inScope).map((r) => r[this.pkField] as PrimaryKey) : m.ids));
      })
      .with({ kind: "delete_by_filter" }, (m) => {
        const predicate = this.scope(m)!;
        return this.onDelete(() => this.segment.matchingIds(predicate));
      })
      .with({ kind: "drop_partition" }, (m) => {
        const predicate = this.scope({ partition_names: [m.partition_name] })!;
        return this.onDelete(() => this.segment.matchingIds(predicate));
      })
      .with({ kind: "search" }, async (m) => {
        const field = this.vectorField(m.anns_field);
        return this.segment.search({
          queries: m.vectors.map((v, i) => checkVector(field, v, `data[${i}]`)),
          field: field.name,
          metric: this.meta.metric_type,
          limit: m.limit,
          // Grouped hits carry their group's value: the proxy regroups across shards by it.
          project: compileProjection(this.schema, m.group_by ? [...m.output_fields, m.group_by.field] : m.output_fields),
          filter: this.scope(m),
          range: m.range,
          groupBy: m.group_by,
        });
      })
      .with({ kind: "query" }, async (m) =>
        m.count
          ? [{ [COUNT_ALL]: this.segment.count(this.scope(m)) }]
          : this.segment.query(compileProjection(this.schema, m.output_fields), m.limit, this.scope(m)),
      )
      .with({ kind: "get" }, async (m) => {
        const inScope = this.scope(m);
        const project = compileProjection(this.schema, m.output_fields);
        return inScope ? this.segment.get(m.ids, (r) => r).filter(inScope).map(project) : this.segment.get(m.ids, project);
      })
      .with({ kind: "stats" }, async () => ({ row_count: this.segment.rowCount, wal_last_seq: this.wal.lastSeq }))
      .exhaustive();
  }

  private get schema(): CollectionSchema {
    return this.meta.schema;
  }

  /**
   * Time tick: with no write queued, every write below a fresh timestamp is
   * applied, so the safe time can move up to it. Idle shards do this every
   * TICK_INTERVAL_MS; a read whose guarantee is ahead does it at once.
   */
  private async tick(): Promise<void> {
    if (this.pendingWrites > 0) return;
    const ts = await this.clock.take();
    if (this.pendingWrites === 0 && ts > this.appliedTs) this.appliedTs = ts;
  }

  /** Holds a read until every write below its guarantee timestamp is applied. */
  private async waitFor(guarantee: bigint): Promise<void> {
    const g = BigInt(guarantee);
    const deadline = Date.now() + READ_WAIT_MAX_MS;
    while (this.appliedTs < g) {
      if (Date.now() > deadline) {
        throw new VecbusError("TIMEOUT", `shard ${this.shard} of "${this.meta.name}" did not reach the read's guarantee timestamp within ${READ_WAIT_MAX_MS} ms`);
      }
      await this.writes;
      await this.tick();
    }
  }

  /** The rows a request may see: its partitions and its filter, or undefined for all rows. */
  private scope(m: ReadScope & { filter?: string }): RowPredicate | undefined {
    const filter = m.filter ? compileFilterText(m.filter, this.schema) : undefined;
    if (!m.partition_names) return filter;
    const partitions = new Set(m.partition_names);
    return filter ? (row) => partitions.has(partitionOf(row)) && filter(row) : (row) => partitions.has(partitionOf(row));
  }

  private vectorField(name: string): FieldSchema {
    const field = this.vectorFields.find((f) => f.name === name);
    if (!field) throw new VecbusError("FIELD_NOT_FOUND", `"${name}" is not a vector field of "${this.meta.name}"`);
    return field;
  }

  private revive(row: Row, where: string): Row {
    const out = { ...row };
    for (const f of this.vectorFields) out[f.name] = checkVector(f, row[f.name], where);
    return out;
  }

  private async onInsert(rows: Row[]): Promise<ShardReplies["insert"]> {
    const revived = rows.map((r, i) => this.revive(r, `row ${i}`));
    const { count, timestamp } = await this.write((ts) => ({ kind: "insert", ts, epoch: this.epoch, rows: revived }));
    return { insert_count: count, timestamp };
  }

  /** `ids` runs in write order, so a delete by filter sees every write queued before it. */
  private async onDelete(ids: () => PrimaryKey[]): Promise<ShardReplies["delete"]> {
    const { count, timestamp } = await this.write((ts) => ({ kind: "delete", ts, epoch: this.epoch, ids: ids() }));
    return { delete_count: count, timestamp };
  }

  /**
   * Queues one WAL append behind the previous one and applies the record once
   * it is durable; resolves with the rows it affected. A fenced append means
   * another writer got in: re-read the tail so this node's segment includes
   * it, and let the client retry.
   */
  private write(make: (ts: bigint) => WalRecord): Promise<WriteResult> {
    this.pendingWrites++;
    const next = this.writes.then(async () => {
      const rec = make(await this.clock.take());
      if (rec.kind === "delete" && rec.ids.length === 0) return { count: 0, timestamp: rec.ts };
      try {
        await this.wal.append(rec);
      } catch (e) {
        if (e instanceof VecbusError && e.code === "SHARD_NOT_READY") await this.wal.catchUp(this.ctx.jsm, (r) => this.apply(r));
        throw e;
      }
      return { count: this.apply(rec), timestamp: rec.ts };
    });
    this.writes = next.catch(() => undefined).finally(() => this.pendingWrites--);
    return next;
  }

  private apply(rec: WalRecord): number {
    if (BigInt(rec.ts) > this.appliedTs) this.appliedTs = BigInt(rec.ts);
    return match(rec)
      .with({ kind: "insert" }, (r) => {
        const rows = r.rows.map((row) => this.revive(row, "WAL row"));
        this.segment.insert(rows, BigInt(r.ts));
        return rows.length;
      })
      .with({ kind: "delete" }, (r) => this.segment.delete(r.ids))
      .exhaustive();
  }
}
