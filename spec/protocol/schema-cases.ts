// What the schema tests build on: the primary key and vector field every
// collection needs, and a refusal checked against its whole message.
import assert from "node:assert/strict";
import { checkSchema } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";

export const pk = { name: "id", type: "Int64", is_primary: true };
export const vec = { name: "vec", type: "FloatVector", dim: 2 };

/** checkSchema refuses these fields with SCHEMA_INVALID and exactly this message. */
export function refused(fields: Record<string, unknown>[], message: string): void {
  assert.throws(
    () => checkSchema({ fields }),
    (e: unknown) => {
      assert.ok(e instanceof VecbusError, String(e));
      assert.equal(e.code, "SCHEMA_INVALID", e.message);
      assert.equal(e.message, message);
      return true;
    },
  );
}
