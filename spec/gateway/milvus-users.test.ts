// Milvus's user and role RPCs through the front door, driven by the Milvus
// Node SDK as an application would: the superuser makes a user, grants and
// revokes roles, the user changes its own password, and each change is
// checked by what the user can then do (searches, inserts seen by an
// independent client, refusals), not by what the RPCs answer about
// themselves.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConsistencyLevelEnum, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { userDirectory } from "../../cli/users.js";
import { SUPERUSER } from "../../protocol/permissions.js";
import { startEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { assertSuccess, startGateway } from "./gateway.js";

// Small enough for the last test to reach, large enough for the others' changes (each test has its own front door).
process.env.VECBUS_MILVUS_USER_CHANGES_PER_MINUTE = "24";

test("milvus users - the superuser makes a user, grants and revokes roles, the user changes its password; each change shows in what the user may do", { timeout: 180_000 }, async () => {
  const env = await startEnv({ tag: "milvus-users", refusalsExpected: true });
  const gateway = await startGateway(env, true, {}, userDirectory(env.dataDir, env.nats.reload));
  const clients: MilvusClient[] = [];
  const as = (username?: string, password?: string) => {
    const c = new MilvusClient({ address: gateway.address, ...(username && { username, password }) });
    clients.push(c);
    return c;
  };
  const code = (r: { code?: number; status?: { code?: number } }) => r.status?.code ?? r.code;
  const count = async () => (await env.client.query({ collection_name: "u", filter: "", output_fields: ["count(*)"], consistency_level: "Strong" }))[0]["count(*)"];
  const vectors = randomVectors(12, 4, 9);
  try {
    await env.client.create_collection({ collection_name: "u", dimension: 4, metric_type: "L2" });
    await env.client.insert({ collection_name: "u", data: vectors.slice(0, 10).map((vector, id) => ({ id, vector })) });
    const root = as(SUPERUSER, env.nats.credentials(SUPERUSER)!.pass);
    const anonymous = as();

    // Only the superuser (or an admin user) manages users; passwords within Milvus's bounds.
    assert.equal(code(await anonymous.createUser({ username: "alice", password: "secret-1" })), 1401);
    assert.equal(code(await root.createUser({ username: "alice", password: "short" })), 1100);
    assertSuccess(await root.createUser({ username: "alice", password: "secret-1" }));
    assert.equal(code(await root.createUser({ username: "alice", password: "secret-2" })), 1100, "a user made twice");
    assert.deepEqual((await root.listUsers()).usernames, ["alice"], "API users only: no actor, not the superuser");

    // A new user reads and may not write (vecbus's readonly, its least role).
    let alice = as("alice", "secret-1");
    assert.equal(code(await alice.describeCollection({ collection_name: "u" })), 0, "a user the front door said it made is refused");
    const hits = await alice.search({ collection_name: "u", data: [vectors[3]], limit: 1, consistency_level: ConsistencyLevelEnum.Strong });
    assert.equal(String(hits.results[0].id), "3");
    assert.equal(code(await alice.insert({ collection_name: "u", data: [{ id: 10, vector: vectors[10] }] })), 1401);
    assert.equal(code(await alice.listUsers()), 1401, "a readonly user lists users");
    assert.equal(code(await alice.addUserToRole({ username: "alice", roleName: "admin" })), 1401, "a user grants itself admin");

    // Granted readwrite: alice's insert lands (seen by the test's own client).
    assertSuccess(await root.addUserToRole({ username: "alice", roleName: "readwrite" }));
    const described = await root.describeUser({ username: "alice" });
    assert.deepEqual(described.results[0].roles.map((r) => r.name), ["readwrite"]);
    const roles = await root.listRoles();
    assert.deepEqual(roles.results.find((r) => r.role.name === "readwrite")?.users.map((u) => u.name), ["alice"]);
    assert.equal(code(await alice.insert({ collection_name: "u", data: [{ id: 10, vector: vectors[10] }] })), 0, "a granted role not in force when the grant was answered");
    assert.equal(await count(), 11);

    // Alice changes her own password: the old one is needed, and stops working.
    assert.equal(code(await alice.updateUser({ username: "alice", oldPassword: "wrong-one", newPassword: "secret-3" })), 1400);
    assertSuccess(await alice.updateUser({ username: "alice", oldPassword: "secret-1", newPassword: "secret-3" }));
    assert.equal(code(await as("alice", "secret-1").describeCollection({ collection_name: "u" })), 1400, "the old password, once its change was answered");
    alice = as("alice", "secret-3");
    assert.equal(code(await alice.describeCollection({ collection_name: "u" })), 0);

    // Removed from readwrite: back to readonly, writes refused again.
    assertSuccess(await root.removeUserFromRole({ username: "alice", roleName: "readwrite" }));
    assert.equal(code(await alice.insert({ collection_name: "u", data: [{ id: 11, vector: vectors[11] }] })), 1401);
    assert.equal(await count(), 11);

    // An admin user manages users too; a password reset by a manager takes the old one's power at once.
    assertSuccess(await root.createUser({ username: "boss", password: "secret-b" }));
    assertSuccess(await root.addUserToRole({ username: "boss", roleName: "admin" }));
    const boss = as("boss", "secret-b");
    assert.equal(code(await boss.describeCollection({ collection_name: "u" })), 0);
    assertSuccess(await boss.createUser({ username: "carol", password: "secret-c" }));
    assertSuccess(await root.updateUser({ username: "boss", oldPassword: "", newPassword: "secret-b2" }));
    assert.notEqual(code(await boss.createUser({ username: "dave", password: "secret-d" })), 0, "the old password, a moment after its reset, manages users");
    assert.equal((await root.describeUser({ username: "dave" })).results.length, 0);
    // A user learns nothing of others: another's password change is refused alike whether that user exists or not.
    assert.equal(code(await alice.updateUser({ username: "carol", oldPassword: "secret-c", newPassword: "secret-x" })), 1401);
    assert.equal(code(await alice.updateUser({ username: "ghost", oldPassword: "secret-c", newPassword: "secret-x" })), 1401);
    assert.equal(code(await anonymous.updateUser({ username: "carol", oldPassword: "secret-c", newPassword: "secret-x" })), 1401);
    // A password the NATS config cannot hold is refused, and the config keeps working: a later user is let in.
    assert.equal(code(await root.createUser({ username: "eve", password: "secret\u0001x" })), 1100);
    assert.equal(code(await alice.updateUser({ username: "alice", oldPassword: "secret-3", newPassword: "secret\u007fx" })), 1100);
    const carol = as("carol", "secret-c");
    assert.equal(code(await carol.describeCollection({ collection_name: "u" })), 0);

    // The superuser and actors are not API users; custom roles are not implemented.
    assert.equal(code(await root.deleteUser({ username: SUPERUSER })), 1401);
    assert.equal(code(await root.deleteUser({ username: "vecbus-proxy" })), 1100);
    assert.equal(code(await root.createRole({ roleName: "auditor" })), 10);

    // Dropped: alice is refused.
    assertSuccess(await root.deleteUser({ username: "alice" }));
    assert.equal(code(await as("alice", "secret-3").describeCollection({ collection_name: "u" })), 1400, "a user whose drop was answered");
    assert.deepEqual((await root.listUsers()).usernames.sort(), ["boss", "carol"]);
  } finally {
    for (const c of clients) await c.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus users - the REST routes (users/*, roles/list) follow the same rules as the gRPC RPCs", { timeout: 180_000 }, async () => {
  const env = await startEnv({ tag: "milvus-users-rest", refusalsExpected: true });
  const gateway = await startGateway(env, true, {}, userDirectory(env.dataDir, env.nats.reload));
  const rest = async (route: string, body: object, credential?: string) => {
    const res = await fetch(`http://${gateway.address}/v2/vectordb/${route}`, { method: "POST", body: JSON.stringify(body), headers: credential ? { authorization: `Bearer ${credential}` } : {} });
    return (await res.json()) as { code: number; data?: unknown; message?: string };
  };
  const root = `${SUPERUSER}:${env.nats.credentials(SUPERUSER)!.pass}`;
  try {
    await env.client.create_collection({ collection_name: "r", dimension: 2, metric_type: "L2" });
    assert.equal((await rest("users/create", { userName: "bob", password: "secret-b" })).code, 1401, "an anonymous caller makes a user");
    assert.deepEqual(await rest("users/create", { userName: "bob", password: "secret-b" }, root), { code: 0, data: {} });
    assert.deepEqual(await rest("users/describe", { userName: "bob" }, root), { code: 0, data: ["readonly"] });
    assert.equal((await rest("entities/insert", { collectionName: "r", data: [{ id: 1, vector: [1, 2] }] }, "bob:secret-b")).code, 1401);
    assert.deepEqual(await rest("users/grant_role", { userName: "bob", roleName: "readwrite" }, root), { code: 0, data: {} });
    assert.deepEqual(await rest("roles/list", {}, root), { code: 0, data: ["admin", "readwrite", "readonly"] });
    assert.equal((await rest("entities/insert", { collectionName: "r", data: [{ id: 1, vector: [1, 2] }] }, "bob:secret-b")).code, 0);
    // JSON can carry what UTF-8 cannot: an unpaired surrogate, which no NATS config string can hold.
    assert.equal((await rest("users/update_password", { userName: "bob", password: "secret-b", newPassword: "secret\ud800b" }, "bob:secret-b")).code, 1100);
    assert.deepEqual(await env.client.query({ collection_name: "r", filter: "", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 1 }]);
    assert.equal((await rest("users/update_password", { userName: "bob", password: "wrong-one", newPassword: "secret-b2" }, "bob:secret-b")).code, 1400);
    assert.deepEqual(await rest("users/update_password", { userName: "bob", password: "secret-b", newPassword: "secret-b2" }, "bob:secret-b"), { code: 0, data: {} });
    assert.equal((await rest("collections/list", {}, "bob:secret-b2")).code, 0);
    assert.deepEqual(await rest("users/drop", { userName: "bob" }, root), { code: 0, data: {} });
    assert.deepEqual(await rest("users/list", {}, root), { code: 0, data: [] });
  } finally {
    await gateway.stop();
    await env.close();
  }
});

test("milvus users - user changes through the front door are bounded per minute (each reloads the NATS server): changes that write, and a user's own password changes apart", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-users-rate" });
  const gateway = await startGateway(env, true, {}, userDirectory(env.dataDir, env.nats.reload));
  const clients: MilvusClient[] = [];
  const as = (username: string, password: string) => {
    const c = new MilvusClient({ address: gateway.address, username, password });
    clients.push(c);
    return c;
  };
  const root = as(SUPERUSER, env.nats.credentials(SUPERUSER)!.pass!);
  try {
    assertSuccess(await root.createUser({ username: "alice", password: "secret-0" }));
    let alice = as("alice", "secret-0");
    assert.equal((await alice.listCollections()).status.error_code, "Success");
    // Changes that change nothing write nothing and reload nothing: they use up no one's allowance.
    for (let i = 0; i < 30; i++) assertSuccess(await alice.updateUser({ username: "alice", oldPassword: "secret-0", newPassword: "secret-0" }));
    // A user's own password: three changes a minute (VECBUS_MILVUS_OWN_PASSWORD_CHANGES_PER_MINUTE).
    for (let i = 1; i <= 3; i++) {
      assertSuccess(await alice.updateUser({ username: "alice", oldPassword: `secret-${i - 1}`, newPassword: `secret-${i}` }));
      alice = as("alice", `secret-${i}`);
      assert.equal((await alice.listCollections()).status.error_code, "Success");
    }
    assert.equal((await alice.updateUser({ username: "alice", oldPassword: "secret-3", newPassword: "secret-4" })).code, 9);
    // The managers' changes that write count toward their own limit (24 here), which alice's did not use: one made, 23 more.
    const codes: number[] = [];
    for (let i = 0; i < 24; i++) codes.push((await root.createUser({ username: `u${i}`, password: "secret-u" })).code ?? 0);
    assert.deepEqual(codes, [...Array(23).fill(0), 9]);
    assert.equal((await root.listUsers()).usernames.length, 24);
  } finally {
    for (const c of clients) await c.closeConnection();
    await gateway.stop();
    await env.close();
  }
});
