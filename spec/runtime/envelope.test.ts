// What an actor answers when its handler throws: a NATS client error that
// says NATS cannot answer now (a JetStream stream electing a leader after a
// server died) is UNAVAILABLE, which callers retry; anything else unknown is
// INTERNAL. Before, "jetstream is not enabled" reached clients as INTERNAL
// and the timestamp pool gave up instead of waiting out the election.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jserrors } from "@nats-io/jetstream/internal";
import { errors } from "@nats-io/transport-node";
import { VecbusError } from "../../protocol/errors.js";
import { errorReply, toVecbusError } from "../../runtime/envelope.js";

// The class @nats-io/jetstream throws when no JetStream server answers (its public module does not export it).
const { JetStreamNotEnabled } = jserrors;

test("envelope - NATS not answering is UNAVAILABLE, other unknown throws INTERNAL, a VecbusError stays itself", () => {
  for (const e of [new JetStreamNotEnabled("jetstream is not enabled"), new errors.TimeoutError(), new errors.NoRespondersError("x"), new errors.ClosedConnectionError()]) {
    const v = toVecbusError(e);
    assert.equal(v.code, "UNAVAILABLE", `${e.name}: ${v.message}`);
    assert.match(v.message, new RegExp(e.name));
  }
  assert.equal(toVecbusError(new TypeError("x is undefined")).code, "INTERNAL");
  assert.equal(toVecbusError("a string").code, "INTERNAL");
  const own = new VecbusError("NOT_LEADER", "not now");
  assert.equal(toVecbusError(own), own);
  assert.deepEqual(errorReply(new JetStreamNotEnabled("jetstream is not enabled")), { ok: false, error: toVecbusError(new JetStreamNotEnabled("jetstream is not enabled")).toBody() });
});
