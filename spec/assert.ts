// Assertions shared by the integration tests.
import assert from "node:assert/strict";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { VecbusError, type ErrorCode } from "../protocol/errors.js";
import { encode } from "../runtime/codec.js";

/** The promise rejects with a VecbusError of this code (and, if given, a message matching the pattern). */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VecbusError, `expected a VecbusError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** A request NATS refuses: the client library fails it with a permission violation naming the subject. */
export async function refused(nc: NatsConnection, subject: string, body: unknown): Promise<void> {
  await assert.rejects(nc.request(subject, encode(body), { timeout: 5_000 }), (e: unknown) => {
    const pe = e instanceof errors.RequestError ? e.cause : e;
    assert.ok(pe instanceof errors.PermissionViolationError, `expected a permission violation on ${subject}, got ${String(e)}`);
    assert.equal(pe.subject, subject);
    return true;
  });
}

/** A subscription NATS refuses: the library closes it with a permission violation. */
export async function subscribeRefused(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject);
  const closed = await sub.closed;
  assert.ok(closed instanceof errors.PermissionViolationError, `expected the subscription to ${subject} to be refused, got ${String(closed)}`);
}
