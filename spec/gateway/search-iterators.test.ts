// The gateway's search-iterator state (unit): the bound a client is sent is
// a float32 on the side of the rows already returned, and a page continues
// from the cursor kept under its token only when the client sends that bound.
import assert from "node:assert/strict";
import { test } from "node:test";
import { float32Toward, SearchIterators } from "../../actors/gateway/search-iterators.js";

test("search iterators - float32Toward rounds to the adjacent float32 on the asked side, and keeps exact values", () => {
  for (const d of [0.1, -0.1, 1 / 3, -1 / 3, 1e-50, -1e-50, 123456.789, 2.5, 0]) {
    const up = float32Toward(d, true);
    const down = float32Toward(d, false);
    assert.ok(up >= d && down <= d, `${d}: ${down} .. ${up}`);
    assert.equal(Math.fround(up), up);
    assert.equal(Math.fround(down), down);
    // Adjacent: nothing representable as float32 lies strictly between them.
    if (up !== down) assert.ok(Math.fround((up + down) / 2) === up || Math.fround((up + down) / 2) === down, `${d}`);
    else assert.equal(Math.fround(d), d);
  }
});

test("search iterators - the kept cursor serves the bound it was sent with; another bound, an unknown token or too many tied ids page from the bound", () => {
  const its = new SearchIterators();
  const first = its.page("", undefined);
  assert.equal(first.cursor, undefined);
  assert.notEqual(first.token, "");
  const cursor = { distance: 0.123456789, ids: [7, 8], returned: 10 };
  const bound = float32Toward(cursor.distance, false);
  its.keep(first.token, cursor, bound);
  assert.deepEqual(its.page(first.token, bound).cursor, cursor);
  assert.deepEqual(its.page(first.token, 0.5).cursor, { distance: 0.5, ids: [], returned: 0 });
  assert.deepEqual(its.page("not-a-token", bound).cursor, { distance: bound, ids: [], returned: 0 });
  its.keep(first.token, { distance: 1, ids: Array.from({ length: 2000 }, (_, i) => i), returned: 2000 }, 1);
  assert.deepEqual(its.page(first.token, 1).cursor, { distance: 1, ids: [], returned: 0 });
  its.keep(first.token, null, 1);
  assert.equal(its.page(first.token, 1).cursor, null);
});
