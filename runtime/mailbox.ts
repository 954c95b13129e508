// A subscription that runs a handler per message with bounded concurrency and
// always answers with the reply envelope. Messages beyond the bound wait in the
// client's buffer, so a burst slows callers down instead of exhausting memory.
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { VecbusError } from "../protocol/errors.js";
import { decode, encode } from "./codec.js";
import { errorReply, okReply, toVecbusError } from "./envelope.js";
import { serveLocally } from "./local-delivery.js";
import type { Logger } from "./log.js";

export interface MailboxOptions<M> {
  subject: string;
  /** Stateless roles share work through a queue group. */
  queue?: string;
  maxInFlight: number;
  /** Checks a decoded message, or one an actor of this process handed over as a value; throws VecbusError for a bad one. */
  check: (value: unknown, subject: string) => M;
  /** `slot.release()` stops counting this message against maxInFlight while it still runs (a read that only waits). */
  handle: (msg: M, subject: string, slot: Slot) => Promise<unknown>;
  log: Logger;
}

export interface Slot {
  release(): void;
}

export class Mailbox<M> {
  private readonly sub: Subscription;
  /** Messages counted against maxInFlight. */
  private inFlight = 0;
  /** Messages still running, counted or released, or waiting for a slot: stop() waits for all of them. */
  private running = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private idle: (() => void) | null = null;
  private readonly done: Promise<void>;
  private readonly unregister: () => void;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: MailboxOptions<M>,
  ) {
    this.sub = nc.subscribe(opts.subject, { queue: opts.queue });
    this.unregister = serveLocally(nc, opts.subject, { deliver: (value, subject) => (this.sub.isClosed() ? null : this.deliverLocally(value, subject)) });
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for await (const m of this.sub) {
      const slot = await this.acquire();
      void this.track(async () => {
        try {
          const bytes = await this.answer(() => decode(m.data), m.subject, slot);
          if (m.reply) this.respond(m, bytes);
        } finally {
          slot.release();
        }
      });
    }
    this.unregister();
    while (this.running > 0) await new Promise<void>((r) => (this.idle = r));
  }

  /** A request from an actor of this process (runtime/local-delivery.ts): the same bound, checks and reply bytes as one over NATS. */
  private deliverLocally(value: unknown, subject: string): Promise<Uint8Array> {
    return this.track(async () => {
      const slot = await this.acquire();
      try {
        return await this.answer(() => value, subject, slot);
      } finally {
        slot.release();
      }
    });
  }

  /** Requests being handled or waiting for a slot (reported as a node's load). */
  get active(): number {
    return this.running;
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      if (this.running === 0) this.idle?.();
    }
  }

  /** Waits for a message to count against maxInFlight; messages beyond it wait in the client's buffer (or their local caller). */
  private async acquire(): Promise<Slot> {
    while (this.inFlight >= this.opts.maxInFlight) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.inFlight++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.inFlight--;
        this.slotWaiters.shift()?.();
      },
    };
  }

  /** The encoded reply envelope: the handler's result or its error (a body that does not decode is one). */
  private async answer(received: () => unknown, subject: string, slot: Slot): Promise<Uint8Array> {
    let reply;
    try {
      const msg = this.opts.check(received(), subject);
      reply = okReply(await this.opts.handle(msg, subject, slot));
    } catch (e) {
      const error = toVecbusError(e);
      // A bug gets its stack; NATS not answering (a server down, a site's link to the hub down) is the caller's to retry.
      if (!(e instanceof VecbusError)) {
        if (error.code === "UNAVAILABLE") this.opts.log.warn("handler failed: NATS did not answer", { subject, error: String(e) });
        else this.opts.log.error("handler failed", { subject, error: String((e as Error)?.stack ?? e) });
      }
      reply = errorReply(error);
    }
    return this.encodeReply(reply, subject);
  }

  private encodeReply(reply: unknown, subject: string): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = encode(reply);
    } catch (e) {
      // A reply that cannot be encoded (a value too deep for the encoder) is answered as an error, never thrown out of the loop.
      this.opts.log.error("reply could not be encoded", { subject, error: String(e) });
      bytes = encode(errorReply(new VecbusError("INTERNAL", `the reply could not be encoded (${(e as Error).message}); ask for fewer output_fields`)));
    }
    const max = this.nc.info?.max_payload ?? Infinity;
    if (bytes.byteLength > max) {
      bytes = encode(
        errorReply(
          new VecbusError(
            "PAYLOAD_TOO_LARGE",
            `the reply would be ${bytes.byteLength} bytes, over the server's max_payload of ${max}; ask for fewer rows (limit) or fewer output_fields`,
          ),
        ),
      );
    }
    return bytes;
  }

  private respond(m: Msg, bytes: Uint8Array): void {
    try {
      m.respond(bytes);
    } catch (e) {
      this.opts.log.warn("could not send reply", { subject: m.subject, error: String(e) });
    }
  }

  /** Stops taking messages, lets buffered and running ones finish. */
  async stop(): Promise<void> {
    this.unregister();
    if (!this.sub.isClosed()) await this.sub.drain().catch(() => this.sub.unsubscribe());
    await this.done;
  }
}
