// One shard owned by this streaming node: its WAL, its growing segment, and
// the mailbox on the shard's subject. Writes are appended to the WAL one at a
// time in arrival order and applied to the segment only after JetStream acks
// them, so the segment is always a prefix of the WAL.
import { match } from "ts-pattern";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { CoordinatorReplies, ShardMsg, ShardReplies, WalRecord } from "../../protocol/messages.js";
import { checkVector, type PrimaryKey, type Row } from "../../protocol/rows.js";
import { primaryField, vectorFields, type CollectionSchema } from "../../protocol/schema.js";
import { decodeMap } from "../../runtime/codec.js";
import type { ActorContext } from "../../runtime/context.js";
import { Mailbox } from "../../runtime/mailbox.js";
import { request } from "../../runtime/rpc.js";
import { compileFilterText, type RowPredicate } from "../../storage/filter-eval.js";
import { GrowingSegment } from "../../storage/growing-segment.js";
import { compileProjection } from "../../storage/projection.js";
import { ShardWal } from "../../storage/wal.js";

export class Shard {
  private mailbox: Mailbox<ShardMsg> | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly segment: GrowingSegment;
  private readonly vectorField: string;

  private constructor(
    private readonly ctx: ActorContext,
    readonly meta: CollectionMeta,
    readonly shard: number,
    readonly epoch: number,
    private readonly wal: ShardWal,
  ) {
    this.vectorField = vectorFields(meta.schema)[0].name;
    this.segment = new GrowingSegment(primaryField(meta.schema).name, this.vectorField);
  }

  /** Rebuilds the growing segment from the whole WAL, then starts serving. */
  static async open(ctx: ActorContext, meta: CollectionMeta, shard: number, epoch: number): Promise<Shard> {
    const wal = await ShardWal.open(ctx.js, ctx.jsm, {
      stream: ctx.names.walStream(meta.id, shard),
      subject: ctx.names.walSubject(meta.id, shard),
    });
    const s = new Shard(ctx, meta, shard, epoch, wal);
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
    return s;
  }

  async close(): Promise<void> {
    await this.mailbox?.stop();
    await this.writes.catch(() => undefined);
  }

  private handle(msg: ShardMsg): Promise<ShardReplies[ShardMsg["kind"]]> {
    return match(msg)
      .with({ kind: "insert" }, (m) => this.onInsert(m.rows))
      .with({ kind: "delete" }, (m) => this.onDelete(() => m.ids))
      .with({ kind: "delete_by_filter" }, (m) => {
        const predicate = this.filter(m.filter)!;
        return this.onDelete(() => this.segment.matchingIds(predicate));
      })
      .with({ kind: "search" }, async (m) =>
        this.segment.search(
          m.vectors.map((v, i) => this.vector(v, `data[${i}]`)),
          m.limit,
          this.meta.metric_type,
          compileProjection(this.schema, m.output_fields),
          this.filter(m.filter),
        ),
      )
      .with({ kind: "query" }, async (m) => this.segment.query(compileProjection(this.schema, m.output_fields), m.limit, this.filter(m.filter)))
      .with({ kind: "get" }, async (m) => this.segment.get(m.ids, compileProjection(this.schema, m.output_fields)))
      .with({ kind: "stats" }, async () => ({ row_count: this.segment.rowCount, wal_last_seq: this.wal.lastSeq }))
      .exhaustive();
  }

  private get schema(): CollectionSchema {
    return this.meta.schema;
  }

  private filter(text: string | undefined): RowPredicate | undefined {
    return text ? compileFilterText(text, this.schema) : undefined;
  }

  private vector(v: unknown, where: string): Float32Array {
    return checkVector(this.meta.schema.fields.find((f) => f.name === this.vectorField)!, v, where);
  }

  private async onInsert(rows: Row[]): Promise<{ insert_count: number }> {
    const revived = rows.map((r, i) => ({ ...r, [this.vectorField]: this.vector(r[this.vectorField], `row ${i}`) }));
    return { insert_count: await this.write((ts) => ({ kind: "insert", ts, epoch: this.epoch, rows: revived })) };
  }

  /** `ids` runs in write order, so a delete by filter sees every write queued before it. */
  private async onDelete(ids: () => PrimaryKey[]): Promise<{ delete_count: number }> {
    return { delete_count: await this.write((ts) => ({ kind: "delete", ts, epoch: this.epoch, ids: ids() })) };
  }

  /**
   * Queues one WAL append behind the previous one and applies the record once
   * it is durable; resolves with the rows it affected. A fenced append means
   * another writer got in: re-read the tail so this node's segment includes
   * it, and let the client retry.
   */
  private write(make: (ts: bigint) => WalRecord): Promise<number> {
    const next = this.writes.then(async () => {
      const { ts } = await request<CoordinatorReplies["allocate_ts"]>(this.ctx.nc, this.ctx.names.coordinatorSubject(), { kind: "allocate_ts", count: 1 }, 5_000);
      const rec = make(BigInt(ts));
      if (rec.kind === "delete" && rec.ids.length === 0) return 0;
      try {
        await this.wal.append(rec);
      } catch (e) {
        if (e instanceof VecbusError && e.code === "SHARD_NOT_READY") await this.wal.catchUp(this.ctx.jsm, (r) => this.apply(r));
        throw e;
      }
      return this.apply(rec);
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  private apply(rec: WalRecord): number {
    return match(rec)
      .with({ kind: "insert" }, (r) => {
        const rows = r.rows.map((row) => ({ ...row, [this.vectorField]: this.vector(row[this.vectorField], "WAL row") }));
        this.segment.insert(rows, BigInt(r.ts));
        return rows.length;
      })
      .with({ kind: "delete" }, (r) => this.segment.delete(r.ids))
      .exhaustive();
  }
}
