// A JetStream client whose next publish to a chosen subject is stored by the
// server but reported as failed: what a writer sees when the ack is lost on
// the way back (a timeout, a dropped connection) after the append landed.
import type { JetStreamClient } from "@nats-io/jetstream";

export interface AckLoss {
  js: JetStreamClient;
  /** The next publish to `subject` is stored, and then rejects as if its ack never came. */
  loseNextAck(subject: string): void;
  /** How many acks were lost so far. */
  readonly lost: number;
}

export function ackLoss(js: JetStreamClient): AckLoss {
  let armed: string | undefined;
  let lost = 0;
  const publish: JetStreamClient["publish"] = async (subject, payload, opts) => {
    const ack = await js.publish(subject, payload, opts);
    if (subject === armed) {
      armed = undefined;
      lost++;
      throw new Error(`timeout: the ack of sequence ${ack.seq} was lost (test)`);
    }
    return ack;
  };
  const wrapped = new Proxy(js, {
    get(target, prop) {
      if (prop === "publish") return publish;
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return {
    js: wrapped,
    loseNextAck: (subject) => (armed = subject),
    get lost() {
      return lost;
    },
  };
}
