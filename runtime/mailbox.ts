// A subscription that runs a handler per message with bounded concurrency and
// always answers with the reply envelope. Messages beyond the bound wait in the
// client's buffer, so a burst slows callers down instead of exhausting memory.
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { VecbusError } from "../protocol/errors.js";
import { encode } from "./codec.js";
import { errorReply, okReply } from "./envelope.js";
import type { Logger } from "./log.js";

export interface MailboxOptions<M> {
  subject: string;
  /** Stateless roles share work through a queue group. */
  queue?: string;
  maxInFlight: number;
  /** Decodes and checks a message; throws VecbusError for a bad one. */
  parse: (data: Uint8Array, subject: string) => M;
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
  /** Messages still running, counted or released: stop() waits for all of them. */
  private running = 0;
  private slotFreed: (() => void) | null = null;
  private readonly done: Promise<void>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: MailboxOptions<M>,
  ) {
    this.sub = nc.subscribe(opts.subject, { queue: opts.queue });
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for await (const m of this.sub) {
      while (this.inFlight >= this.opts.maxInFlight) {
        await new Promise<void>((r) => (this.slotFreed = r));
      }
      this.inFlight++;
      this.running++;
      let held = true;
      const slot = {
        release: () => {
          if (!held) return;
          held = false;
          this.inFlight--;
          this.wake();
        },
      };
      void this.run(m, slot).finally(() => {
        slot.release();
        this.running--;
        this.wake();
      });
    }
    while (this.running > 0) await new Promise<void>((r) => (this.slotFreed = r));
  }

  private wake(): void {
    const wake = this.slotFreed;
    this.slotFreed = null;
    wake?.();
  }

  private async run(m: Msg, slot: Slot): Promise<void> {
    let reply;
    try {
      const msg = this.opts.parse(m.data, m.subject);
      reply = okReply(await this.opts.handle(msg, m.subject, slot));
    } catch (e) {
      if (!(e instanceof VecbusError)) this.opts.log.error("handler failed", { subject: m.subject, error: String((e as Error)?.stack ?? e) });
      reply = errorReply(e);
    }
    this.respond(m, reply);
  }

  private respond(m: Msg, reply: unknown): void {
    if (!m.reply) return;
    let bytes: Uint8Array;
    try {
      bytes = encode(reply);
    } catch (e) {
      // A reply that cannot be encoded (a value too deep for the encoder) is answered as an error, never thrown out of the loop.
      this.opts.log.error("reply could not be encoded", { subject: m.subject, error: String(e) });
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
    try {
      m.respond(bytes);
    } catch (e) {
      this.opts.log.warn("could not send reply", { subject: m.subject, error: String(e) });
    }
  }

  /** Stops taking messages, lets buffered and running ones finish. */
  async stop(): Promise<void> {
    if (!this.sub.isClosed()) await this.sub.drain().catch(() => this.sub.unsubscribe());
    await this.done;
  }
}
