// Each hostile request of issue 9 (spec/hostile.ts), sent by a client
// without credentials, gets its specific error (or, for patterns that used to
// backtrack, the right rows), and the server goes on answering: after all of
// them a plain request is answered and the stored rows are those written.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import { startEnv, type TestEnv } from "../harness.js";
import { HOSTILE, HOSTILE_COLLECTION, prepareHostile } from "../hostile.js";
import { liveIds } from "../segments.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

describe("hostile requests", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "hostile" });
    await prepareHostile(env.client);
  });
  after(async () => {
    await env.close();
  });

  for (const h of HOSTILE) {
    test(`hostile - ${h.name}: ${h.expect}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const outcome = await h.prepare(env.client)().then(
        (r) => ({ ok: r }),
        (e: unknown) => ({ error: e }),
      );
      if (h.expect === "ok") {
        assert.ok("ok" in outcome, `expected an answer, got ${String((outcome as { error: unknown }).error)}`);
        return;
      }
      assert.ok("error" in outcome, `expected ${h.expect}, got an answer`);
      assert.ok(outcome.error instanceof VecbusError, String(outcome.error));
      assert.equal(outcome.error.code, h.expect, outcome.error.message);
    });
  }

  test("hostile - the like patterns found the right rows, and nothing was stored by the refused inserts", async () => {
    const names = await env.client.query({ collection_name: HOSTILE_COLLECTION, filter: 'name like "%a%a%b"', output_fields: ["id"] });
    assert.deepEqual(names, []);
    const xs = await env.client.query({ collection_name: HOSTILE_COLLECTION, filter: `name like "${"%".repeat(3000)}x"`, output_fields: ["id"] });
    assert.deepEqual(xs.map((r) => r.id), [2]);
    assert.deepEqual(await liveIds(env.client, HOSTILE_COLLECTION), [1, 2]);
  });
});
