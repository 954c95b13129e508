// The meta store: a NATS KV bucket of msgpack values with revision-based
// compare-and-set. Every writer reads a revision and writes against it; a
// stale revision (JetStream API error 10071) becomes CONFLICT, and
// `casUpdate` retries a pure read-modify-write until it wins.
import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import { VecbusError } from "../protocol/errors.js";
import { stamped, unstamped } from "../protocol/data-format.js";
import { metaValue } from "../protocol/message-checks.js";
import { decode, encode } from "../runtime/codec.js";
import { kvKeys } from "../runtime/kv-keys.js";
import { onConnectionEvent } from "../runtime/connection.js";
import type { NatsConnection } from "@nats-io/transport-node";
import { limitText } from "../protocol/limits.js";
import { storeFullError } from "./stream-bounds.js";

/** JetStream's "wrong last sequence": the revision a write was based on is stale. */
export const WRONG_LAST_SEQUENCE = 10071;

type KvWatcher = Awaited<ReturnType<KV["watch"]>>;

const WATCH_RESTART_PAUSE_MS = 1_000;

export interface Versioned<T> {
  value: T;
  revision: number;
}

export function isWrongLastSequence(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === WRONG_LAST_SEQUENCE;
}

/** Told of a value that cannot be read (a corrupt or forged write: the key is skipped, never fatal) or of a watch that failed. */
export type ProblemHandler = (key: string, error: string) => void;

export class MetaStore {
  private readonly reported = new Set<string>();

  constructor(
    readonly kv: KV,
    private readonly report: ProblemHandler = () => undefined,
    /** The bucket's connection: watches start again after it reconnects. */
    private readonly nc?: NatsConnection,
    /**
     * Watches also start again this often. For a connection to a leaf node:
     * when the leaf's link to the hub drops and comes back, what the hub pushed
     * meanwhile is lost, the connection itself never drops, and nothing later
     * shows the gap.
     */
    private readonly resyncEveryMs?: number,
  ) {}

  /** The key's live value; a value that cannot be decoded is INTERNAL naming the key (and reported), so only this key's users fail. */
  async get<T>(key: string): Promise<Versioned<T> | null> {
    return this.live<T>(await this.kv.get(key));
  }

  /** The key's newest revision, a delete's included; 0 for a key never written. */
  async revision(key: string): Promise<number> {
    return (await this.kv.get(key))?.revision ?? 0;
  }

  /** Writes only if the key is absent (or deleted); CONFLICT otherwise. */
  async create<T>(key: string, value: T): Promise<number> {
    return this.guard(key, () => this.kv.create(key, encode(stamped(value))));
  }

  async update<T>(key: string, value: T, revision: number): Promise<number> {
    return this.guard(key, () => this.kv.update(key, encode(stamped(value)), revision));
  }

  async put<T>(key: string, value: T): Promise<number> {
    return this.guard(key, () => this.kv.put(key, encode(stamped(value))));
  }

  async delete(key: string, revision?: number): Promise<void> {
    await this.guard(key, () => this.kv.delete(key, revision === undefined ? undefined : { previousSeq: revision }));
  }

  /**
   * Read-modify-write with retry. `fn` gets the current value (or null) and
   * returns the next one, or undefined to leave the key alone.
   */
  async casUpdate<T>(key: string, fn: (cur: T | null) => T | undefined, attempts = 20): Promise<T | undefined> {
    return (await this.casVersioned(key, fn, attempts))?.value;
  }

  /** casUpdate that also returns the key's revision, for a writer that goes on writing against it. */
  async casVersioned<T>(key: string, fn: (cur: T | null) => T | undefined, attempts = 20): Promise<Versioned<T> | null> {
    for (let i = 0; i < attempts; i++) {
      const cur = await this.get<T>(key);
      const next = fn(cur ? cur.value : null);
      if (next === undefined) return cur;
      try {
        const revision = cur ? await this.update(key, next, cur.revision) : await this.create(key, next);
        return { value: next, revision };
      } catch (e) {
        if (!(e instanceof VecbusError && e.code === "CONFLICT")) throw e;
      }
    }
    throw new VecbusError("CONFLICT", `meta key ${key} kept changing under ${attempts} attempts to update it; try again`);
  }

  /** Live values of every key matching a subject-style filter (e.g. "shards.>"). */
  async list<T>(filter: string): Promise<Map<string, Versioned<T>>> {
    const out = new Map<string, Versioned<T>>();
    const keys = await kvKeys(this.kv, filter);
    await Promise.all(
      keys.map(async (k) => {
        // One unreadable value must not hide the others: it is reported and left out.
        const v = await this.get<T>(k).catch((e) => {
          if (!(e instanceof BadValue)) throw e;
          return null;
        });
        if (v) out.set(k, v);
      }),
    );
    return out;
  }

  /**
   * Calls `onChange` for the current value of each matching key, then for every
   * change (value null for a delete). Resolves once the initial snapshot is in.
   * `onEnd` is called if the watch stops delivering for any reason but `stop()`.
   */
  async watch<T>(filter: string, onChange: (key: string, value: T | null, revision: number) => void, onEnd?: () => void): Promise<{ stop(): void }> {
    // Taking the snapshot with keys()+get() first gives a clear "initial state loaded" point,
    // which a 2.9 KV watcher cannot signal for an empty bucket.
    const w = await this.kv.watch({ key: filter });
    let snapshot: Map<string, Versioned<T>>;
    try {
      snapshot = await this.list<T>(filter);
    } catch (e) {
      // Left running, the watcher's heartbeat monitor would keep retrying on a closed connection, and keep the process alive.
      w.stop();
      throw e;
    }
    for (const [k, v] of snapshot) onChange(k, v.value, v.revision);
    const revs = new Map<string, number>([...snapshot].map(([k, v]) => [k, v.revision]));
    let stopped = false;
    let current = w;
    const deliver = (watcher: KvWatcher) => {
      void (async () => {
        for await (const e of watcher) {
          if ((revs.get(e.key) ?? 0) >= e.revision) continue;
          revs.set(e.key, e.revision);
          try {
            const v = this.live<T>(e);
            onChange(e.key, v ? v.value : null, e.revision);
          } catch (err) {
            // A bad value (reported by live) or a failing handler skips this change; the watch goes on.
            if (!(err instanceof BadValue)) this.report(e.key, `handling the change failed: ${String((err as Error)?.stack ?? err)}`);
          }
        }
      })()
        .catch((err) => this.report(filter, `the watch ended: ${String(err)}`))
        .finally(() => {
          if (!stopped && watcher === current) onEnd?.();
        });
    };
    deliver(w);
    // A watcher misses what was published while its connection was down, and need not notice (seen: a streaming
    // node resumed from a stall never heard that its shards had moved). After a reconnect a new one delivers each
    // key's newest value again, deletes included; the revisions already seen skip what was delivered before.
    let restarting: Promise<void> | undefined;
    const restartOnce = async () => {
      while (!stopped) {
        try {
          const next = await this.kv.watch({ key: filter });
          if (stopped) return next.stop();
          const old = current;
          current = next;
          old.stop();
          return deliver(next);
        } catch (err) {
          this.report(filter, `restarting the watch failed, retrying: ${String(err)}`);
          await new Promise((r) => setTimeout(r, WATCH_RESTART_PAUSE_MS));
        }
      }
    };
    const restart = () => void (restarting ??= restartOnce().finally(() => (restarting = undefined)));
    const reconnects = this.nc && onConnectionEvent(this.nc, "reconnect", restart);
    const resync = this.resyncEveryMs && setInterval(restart, this.resyncEveryMs).unref();
    return {
      stop: () => {
        stopped = true;
        reconnects?.stop();
        clearInterval(resync);
        current.stop();
      },
    };
  }

  private async guard(key: string, op: () => Promise<number | void>): Promise<number> {
    try {
      return (await op()) ?? 0;
    } catch (e) {
      if (isWrongLastSequence(e)) throw new VecbusError("CONFLICT", `meta key ${key} was changed by someone else; read it again`);
      throw storeFullError(e, "the meta bucket", `raise its bound (${limitText("metaBytes")})`) ?? e;
    }
  }

  private live<T>(e: KvEntry | null): Versioned<T> | null {
    if (!e || e.operation !== "PUT") return null;
    try {
      // The value's shape is checked for its key family: a forged or corrupt value is skipped like an undecodable one.
      const where = `meta key ${e.key}`;
      return { value: metaValue(e.key)(unstamped(decode(e.value), where), where) as T, revision: e.revision };
    } catch (err) {
      const msg = `meta key ${e.key} (revision ${e.revision}) holds a value that cannot be read (${(err as Error).message}); it is skipped`;
      // Reported once per revision: the sweeps read the same keys every few seconds.
      const seen = `${e.key}@${e.revision}`;
      if (!this.reported.has(seen)) {
        this.reported.add(seen);
        this.report(e.key, msg);
      }
      throw new BadValue(msg);
    }
  }
}

class BadValue extends VecbusError {
  constructor(message: string) {
    super("INTERNAL", message);
  }
}
