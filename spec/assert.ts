// Assertions shared by the integration tests.
import assert from "node:assert/strict";
import { VecbusError, type ErrorCode } from "../protocol/errors.js";

/** The promise rejects with a VecbusError of this code (and, if given, a message matching the pattern). */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VecbusError, `expected a VecbusError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}
