// The users file changed by several processes at once (the CLI beside a
// serve's Milvus front door, or two CLIs): every change lands, and every
// reader sees a whole file. What must be there is what the writers were told
// they made.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { ensureAuth, readAuth } from "../../cli/nats-auth.js";
import { DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { tempDir } from "../harness.js";
import { ROOT } from "./serve-process.js";

const WRITERS = 3;
const EACH = 30;

test("users file - writers in several processes at once: every user each was told it made is there, and the file always reads", { timeout: 120_000 }, async () => {
  const dataDir = tempDir("users-lock");
  ensureAuth(dataDir, [DEFAULT_PREFIX], false);
  const script = (w: number) => `
    const { createUser, listUsers } = await import("./cli/users.ts");
    for (let i = 0; i < ${EACH}; i++) {
      createUser(${JSON.stringify(dataDir)}, "w${w}_" + i, "readonly");
      listUsers(${JSON.stringify(dataDir)});
    }`;
  const runs = Array.from({ length: WRITERS }, (_, w) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script(w)], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise<void>((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}:\n${stderr}`)))));
  });
  await Promise.all(runs);
  const users = Object.keys(readAuth(dataDir)!.users).filter((u) => /^w\d_/.test(u));
  const expected = Array.from({ length: WRITERS }, (_, w) => Array.from({ length: EACH }, (_, i) => `w${w}_${i}`)).flat();
  assert.deepEqual(users.sort(), expected.sort());
});
