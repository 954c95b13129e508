// `vecbus serve` starts the Milvus front door (gRPC and REST on one port)
// and names each on a line of its own after the ready line, so a script
// finds them; a Milvus SDK then works against it. `--milvus-port 0` takes a free port (the default is
// Milvus's 19530). `vecbus start gateway` runs it as a process of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConsistencyLevelEnum, MilvusClient } from "@zilliz/milvus2-sdk-node";
import path from "node:path";
import { readAuth } from "../../cli/nats-auth.js";
import { freePort, stopOrphan } from "../../cli/nats-server.js";
import { SUPERUSER } from "../../protocol/permissions.js";
import { startServe, startVecbus, type ServeProcess } from "../cli/serve-process.js";
import { startEnv, tempDir } from "../harness.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

test("milvus grpc - vecbus serve prints where its Milvus front door listens, and an SDK connects there", { timeout: TEST_TIMEOUT_MS }, async () => {
  let serve: ServeProcess | undefined;
  let milvus: MilvusClient | undefined;
  let root: MilvusClient | undefined;
  let carol: MilvusClient | undefined;
  const dataDir = tempDir("milvus-serve");
  try {
    serve = await startServe(["--data", dataDir, "--port", String(await freePort()), "--milvus-port", "0"]);
    let address = "";
    await eventually("serve to print its milvus grpc line", () => {
      address = /^milvus grpc on (\S+)$/.exec(serve!.stdout().find((l) => l.startsWith("milvus grpc on ")) ?? "")?.[1] ?? "";
      return address !== "";
    });
    milvus = new MilvusClient({ address });
    assert.equal((await milvus.checkHealth()).isHealthy, true);
    await milvus.createCollection({ collection_name: "quick", dimension: 4 });
    assert.deepEqual(
      (await milvus.showCollections()).data.map((c) => c.name),
      ["quick"],
    );
    // REST on the same port, named on its own line.
    assert.ok(serve.stdout().includes(`milvus rest on http://${address}`), serve.stdout().join("\n"));
    const listed = await fetch(`http://${address}/v2/vectordb/collections/list`, { method: "POST", body: "{}" });
    assert.deepEqual(await listed.json(), { code: 0, data: ["quick"] });

    // The serve's front door holds its users file: the superuser makes a user through the SDK, and the
    // user it made is let in; the front door of `vecbus start gateway` (below) holds none.
    root = new MilvusClient({ address, username: SUPERUSER, password: readAuth(dataDir)!.users[SUPERUSER].password });
    assert.equal((await root.createUser({ username: "carol", password: "secret-c" })).error_code, "Success");
    assert.equal(readAuth(dataDir)!.users.carol?.role, "readonly", "the user in the serve's users file");
    carol = new MilvusClient({ address, username: "carol", password: "secret-c" });
    await eventually("the user made through the SDK to be let in", async () => (await carol!.showCollections()).status.error_code === "Success");
  } finally {
    await milvus?.closeConnection();
    await root?.closeConnection();
    await carol?.closeConnection();
    await serve?.kill();
    // A killed serve leaves its nats-server behind.
    await stopOrphan(path.join(dataDir, "nats-server.pid"));
  }
});

test("milvus grpc - vecbus start gateway runs the front door as a process of its own against a running vecbus", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "milvus-gateway-process" });
  let gateway: ServeProcess | undefined;
  let milvus: MilvusClient | undefined;
  try {
    gateway = await startVecbus(["start", "gateway", "--server", env.nats.url, "--milvus-port", "0"]);
    const address = /^milvus grpc on (\S+)$/.exec(gateway.stdout().find((l) => l.startsWith("milvus grpc on ")) ?? "")?.[1] ?? "";
    assert.notEqual(address, "", gateway.stdout().join("\n"));
    milvus = new MilvusClient({ address });
    await milvus.createCollection({ collection_name: "g", dimension: 4, metric_type: "L2" });
    const rows = [0, 1, 2, 3].map((id) => ({ id, vector: [id, 0, 0, 0] }));
    await milvus.insert({ collection_name: "g", data: rows });
    const found = await milvus.search({ collection_name: "g", data: [[2.2, 0, 0, 0]], limit: 2, consistency_level: ConsistencyLevelEnum.Strong });
    assert.deepEqual(found.results.map((h) => Number(h.id)), [2, 3]);
    // Written through the NATS API the gateway is a client of.
    assert.deepEqual(await env.client.query({ collection_name: "g", filter: "", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 4 }]);
    assert.equal((await milvus.createUser({ username: "dave", password: "secret-d" })).code, 10, "user RPCs of a front door without the users file");
  } finally {
    await milvus?.closeConnection();
    await gateway?.kill();
    await env.close();
  }
});
