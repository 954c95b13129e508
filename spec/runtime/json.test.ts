// The CLI's JSON in and out keeps Int64 values exact (cli/json.ts): integers
// beyond 2^53 are read as bigints, not rounded doubles, and written as bare
// digits; everything else reads and writes as JSON.parse and JSON.stringify do.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonText, parseJson } from "../../runtime/json.js";

test("cli json - integers beyond 2^53 read as bigints, anywhere but inside strings; the rest as JSON.parse", () => {
  const text = '{"id": 450072488481390593, "n": [9223372036854775807, -9223372036854775808, 9007199254740992, 12], "s": "9223372036854775807 \\" 12345678901234567", "f": 1.5e300, "e": 12345678901234567e2}';
  assert.deepEqual(parseJson(text), {
    id: 450072488481390593n,
    n: [9223372036854775807n, -9223372036854775808n, 9007199254740992, 12],
    s: '9223372036854775807 " 12345678901234567',
    f: 1.5e300,
    e: 12345678901234567e2,
  });
  for (const plain of ['[1, 2.5, "x", null, true, {"a": {"b": []}}]', '"a \\\\"', "-0", "[]"]) assert.deepEqual(parseJson(plain), JSON.parse(plain), plain);
  assert.throws(() => parseJson("[1,"), SyntaxError);
});

test("cli json - bigints are written as bare digits and typed arrays as lists", () => {
  const value = { id: 450072488481390593n, neg: -9223372036854775808n, v: new Float32Array([0.5, 1]), s: "450072488481390593n" };
  assert.equal(jsonText(value), '{"id":450072488481390593,"neg":-9223372036854775808,"v":[0.5,1],"s":"450072488481390593n"}');
  assert.deepEqual(parseJson(jsonText(value)), { ...value, v: [0.5, 1] });
});
