// The subject matching that decides, like nats-server, whether an actor's
// request may be delivered in-process (runtime/actor-ref.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { rolePublishes, subjectMatches } from "../../protocol/permissions.js";
import { DEFAULT_PREFIX, Names } from "../../protocol/subjects.js";

test("permissions - subject patterns match as in NATS", () => {
  const cases: [string, string, boolean][] = [
    ["a.b", "a.b", true],
    ["a.b", "a.b.c", false],
    ["a.b.c", "a.b", false],
    ["a.*", "a.b", true],
    ["a.*", "a.b.c", false],
    ["a.*.c", "a.x.c", true],
    ["a.>", "a.b", true],
    ["a.>", "a.b.c.d", true],
    ["a.>", "a", false],
    [">", "anything.at.all", true],
    ["a.b", "a.c", false],
  ];
  for (const [pattern, subject, want] of cases) assert.equal(subjectMatches(pattern, subject), want, `${pattern} ~ ${subject}`);
});

test("permissions - each role may ask exactly the actors its NATS user may publish to", () => {
  const n = new Names(DEFAULT_PREFIX);
  const asks = (role: Parameters<typeof rolePublishes>[1]) => {
    const may = rolePublishes(n, role);
    return [n.coordinatorSubject(), n.shardSubject(3, 1, 1), n.querySubject("q1")].map(may);
  };
  assert.deepEqual(asks("proxy"), [true, true, false]);
  assert.deepEqual(asks("streaming"), [true, false, true]);
  assert.deepEqual(asks("query"), [false, false, false]);
  assert.deepEqual(asks("data"), [false, true, false]);
});
