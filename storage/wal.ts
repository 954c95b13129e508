// A shard's write-ahead log: one JetStream stream capturing one subject.
// Appends carry `expect.lastSequence`, so only the writer that knows the true
// tail can append: a stale owner that missed a newer owner's write is fenced
// (10071) instead of interleaving records.
import { DeliverPolicy, JetStreamApiError, StorageType, type JetStreamClient, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { VecbusError } from "../protocol/errors.js";
import { limit, limitText } from "../protocol/limits.js";
import type { WalRecord } from "../protocol/messages.js";
import { stamped, unstamped } from "../protocol/data-format.js";
import { walRecord } from "../protocol/message-checks.js";
import { decode, encode, encodedBytesBound } from "../runtime/codec.js";
import { isWrongLastSequence } from "./meta-store.js";
import { asConfigured, storeFullError, STREAM_NOT_FOUND, streamBound, streamInfoIfAny } from "./stream-bounds.js";

/** How long a replay may go without a message before it gives up (the node retries the open). */
const REPLAY_STALL_MS = 30_000;

export interface WalLocation {
  stream: string;
  subject: string;
}

export async function createWalStream(jsm: JetStreamManager, loc: WalLocation): Promise<void> {
  try {
    await jsm.streams.add({
      name: loc.stream,
      subjects: [loc.subject],
      storage: StorageType.File,
      num_replicas: limit("replicas"),
      // Needed for the cheap last-sequence lookup; without it direct gets hang.
      allow_direct: true,
      duplicate_window: 120e9,
      ...streamBound("walBytes"),
    });
  } catch (e) {
    throw storeFullError(e, "the NATS server's JetStream store", `each WAL stream reserves its bound (${limitText("walBytes")}): lower it, or give the server more storage`) ?? e;
  }
}

/** A WAL message's record, checked (and of a data format this release reads); `where` names it in errors. */
export function decodeWalRecord(bytes: Uint8Array, where: string): WalRecord {
  return walRecord(unstamped(decode(bytes), where), where);
}

export async function deleteWalStream(jsm: JetStreamManager, stream: string): Promise<void> {
  try {
    await jsm.streams.delete(stream);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === STREAM_NOT_FOUND)) throw e;
  }
}

export class ShardWal {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly loc: WalLocation,
    private last: number,
    private readonly onBadRecord: (seq: number, error: string) => void,
  ) {}

  private skipped = 0;

  /** Opens an existing stream; its current last sequence is where appends continue. A stream made by an earlier release gets the byte bound, one with fewer replicas than configured gets them. */
  static async open(js: JetStreamClient, jsm: JetStreamManager, loc: WalLocation, onBadRecord: (seq: number, error: string) => void = () => undefined): Promise<ShardWal> {
    const info = await asConfigured(jsm, await walInfo(jsm, loc.stream), streamBound("walBytes"));
    return new ShardWal(js, jsm, loc, info.state.last_seq, onBadRecord);
  }

  /** Records replay could not apply and skipped, each reported to onBadRecord. */
  get skippedRecords(): number {
    return this.skipped;
  }

  get lastSeq(): number {
    return this.last;
  }

  /**
   * Appends one record and resolves with its sequence once JetStream has
   * stored it. A fenced append throws SHARD_NOT_READY: the caller must
   * re-read the tail (another writer appended) before it may write again.
   */
  async append(rec: WalRecord): Promise<{ seq: number; bytes: number }> {
    const bytes = encode(stamped(rec), encodedBytesBound(rec));
    try {
      const ack = await this.js.publish(this.loc.subject, bytes, { expect: { lastSequence: this.last, streamName: this.loc.stream } });
      this.last = ack.seq;
      return { seq: ack.seq, bytes: bytes.byteLength };
    } catch (e) {
      if (isWrongLastSequence(e)) {
        throw new VecbusError("SHARD_NOT_READY", `the WAL ${this.loc.stream} was written by another owner; the shard is re-syncing, try again`);
      }
      const full = storeFullError(e, `the WAL ${this.loc.stream}`, `it empties once its segment is flushed, which has begun: retry shortly, or raise the bound (${limitText("walBytes")})`);
      if (full) throw full;
      const msg = (e as Error).message ?? String(e);
      if (/max_payload|maximum payload|message size exceeds/i.test(msg)) {
        throw new VecbusError("PAYLOAD_TOO_LARGE", `the write is ${bytes.byteLength} bytes, over the server's limit; send fewer rows per request`);
      }
      throw new VecbusError("UNAVAILABLE", `appending to ${this.loc.stream} failed: ${msg}`);
    }
  }

  /** Replays records with sequence > `after` up to the tail known at call time. */
  async replay(after: number, apply: (rec: WalRecord, seq: number, bytes: number) => void): Promise<number> {
    let count = 0;
    const tail = this.last;
    if (tail <= after) return 0;
    const consumer = await this.js.consumers.get(this.loc.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
    });
    const messages = await consumer.consume({ max_messages: 512 });
    // A stream deleted (or a server lost) mid-replay would otherwise leave this waiting forever.
    let stalled = false;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        messages.stop();
      }, REPLAY_STALL_MS);
    };
    arm();
    try {
      for await (const m of messages) {
        arm();
        try {
          const where = `${this.loc.stream} record ${m.seq}`;
          apply(decodeWalRecord(m.data, where), m.seq, m.data.byteLength);
          count++;
        } catch (e) {
          // Not a WAL record (corrupt, or forged by a client that could write the WAL), or rows that do not fit
          // the schema (apply checks before it changes anything): reported and skipped, so the shard still opens.
          this.skipped++;
          this.onBadRecord(m.seq, String((e as Error).message ?? e));
        }
        if (m.seq >= tail) break;
      }
    } finally {
      clearTimeout(watchdog);
      messages.stop();
    }
    if (stalled) {
      throw new VecbusError("UNAVAILABLE", `replay of ${this.loc.stream} received nothing for ${REPLAY_STALL_MS / 1000} s before reaching sequence ${tail}`);
    }
    return count;
  }

  /** The last sequence the server holds now (this writer's own appends included). */
  async serverTail(): Promise<number> {
    return (await walInfo(this.jsm, this.loc.stream)).state.last_seq;
  }

  /** Re-reads the tail from the server and applies what others appended since we last knew it. */
  async catchUp(apply: (rec: WalRecord, seq: number, bytes: number) => void): Promise<number> {
    const known = this.last;
    this.last = await this.serverTail();
    return this.replay(known, apply);
  }

  /**
   * Drops the records up to and including `checkpoint`, once the object store
   * holds what they wrote. The stream keeps its last sequence (also across
   * server restarts), so appends stay fenced against it.
   */
  async purgeThrough(checkpoint: number): Promise<void> {
    await this.jsm.streams.purge(this.loc.stream, { seq: checkpoint + 1 });
  }
}

async function walInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo> {
  const info = await streamInfoIfAny(jsm, stream);
  if (!info) throw new VecbusError("SHARD_NOT_READY", `the WAL stream ${stream} does not exist (was the collection dropped?)`);
  return info;
}
