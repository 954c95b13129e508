// The credential flags other than passwords, against nats-servers configured
// by hand the way an operator would: a user nkey (--nkey SEED_FILE) and TLS
// with a private CA (--tls-ca). Each is shown to be what lets the client in:
// without it the same connection is refused. (--creds needs a server in NATS
// operator/JWT mode, which this suite does not set up.)
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import { nkeys } from "@nats-io/transport-node";
import { findNatsServer, freePort } from "../../cli/nats-server.js";
import { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { tempDir } from "../harness.js";
import { ROOT } from "../cli/serve-process.js";

async function natsServer(conf: string, port: number): Promise<ChildProcess> {
  const child = spawn(findNatsServer(), ["-c", conf, "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      log += d.toString();
      if (log.includes("Server is ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
  return child;
}

/** `vecbus status` with these flags: with nothing serving the API, getting as far as UNAVAILABLE means the connection was taken. */
async function statusWith(args: string[]): Promise<string> {
  const run = promisify(execFile)(process.execPath, ["--import", "tsx", "cli/main.ts", "status", ...args], { cwd: ROOT, timeout: 60_000 });
  return run.then(
    (r) => r.stderr,
    (e: { stderr: string }) => e.stderr,
  );
}

describe("credential flags", () => {
  const dir = tempDir("credentials");
  const servers: ChildProcess[] = [];
  after(() => {
    for (const s of servers) s.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("credentials - a user nkey: --nkey and VecbusClient's nkeyFile connect, nothing else does", async () => {
    const user = nkeys.createUser();
    const seedFile = path.join(dir, "user.nk");
    fs.writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    const conf = path.join(dir, "nkey.conf");
    fs.writeFileSync(conf, `authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    const port = await freePort();
    servers.push(await natsServer(conf, port));
    const url = `nats://127.0.0.1:${port}`;
    const c = await VecbusClient.connect(url, { auth: { nkeyFile: seedFile } });
    await c.close();
    await rejectsWith(VecbusClient.connect(url), "UNAUTHENTICATED");
    assert.match(await statusWith(["--server", url, "--nkey", seedFile]), /error UNAVAILABLE: nothing is serving/);
    assert.match(await statusWith(["--server", url]), /error UNAUTHENTICATED/);
  });

  test("credentials - TLS with a private CA: --tls-ca and VecbusClient's tls.caFile connect; without the CA the server is not trusted", async () => {
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=vecbus test CA");
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext");
    const conf = path.join(dir, "tls.conf");
    fs.writeFileSync(conf, `tls { cert_file: "${path.join(dir, "server.pem")}", key_file: "${path.join(dir, "server.key")}" }\n`);
    const port = await freePort();
    servers.push(await natsServer(conf, port));
    const url = `tls://127.0.0.1:${port}`;
    const ca = path.join(dir, "ca.pem");
    const c = await VecbusClient.connect(url, { auth: { tls: { caFile: ca } } });
    await c.close();
    await rejectsWith(VecbusClient.connect(url), "UNAVAILABLE", /certificate/);
    assert.match(await statusWith(["--server", url, "--tls-ca", ca]), /error UNAVAILABLE: nothing is serving/);
  });
});
