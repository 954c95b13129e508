// The users file changed by several processes at once (the CLI beside a
// serve's Milvus front door, or two CLIs): every change lands, and every
// reader sees a whole file. What must be there is what the writers were told
// they made.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import fs from "node:fs";
import { ensureAuth, readAuth, usersLockFile } from "../../cli/nats-auth.js";
import { createUser, userDirectory } from "../../cli/users.js";
import { VecbusError } from "../../protocol/errors.js";
import { DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { tempDir } from "../harness.js";
import { ROOT } from "./serve-process.js";

/** These tests run no nats-server: a change that got past the lock would fail here. */
const noServer = () => Promise.reject(new Error("no nats-server runs in this test"));

const WRITERS = 3;
const EACH = 30;

test("users file - writers in several processes at once, after a holder of the lock died: every user each was told it made is there, and the file always reads", { timeout: 120_000 }, async () => {
  const dataDir = tempDir("users-lock");
  ensureAuth(dataDir, [DEFAULT_PREFIX], false);
  // The writers start against a lock its holder left behind when it died: all of them see it dead at once, and it
  // must be broken once, not by each of them (which would let two hold it).
  fs.writeFileSync(usersLockFile(dataDir), `${await deadPid()} - - left-behind`);
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

test("users file - a lock held by a running process: the Milvus front door answers UNAVAILABLE at once (its thread runs the serve's actors); once released, a change goes through", { timeout: 60_000 }, async () => {
  const dataDir = tempDir("users-lock-held");
  ensureAuth(dataDir, [DEFAULT_PREFIX], false);
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    fs.writeFileSync(usersLockFile(dataDir), `${holder.pid} - - another-change`);
    const started = Date.now();
    await assert.rejects(userDirectory(dataDir, noServer).create("a", "secret-a", "readonly"), (e: unknown) => e instanceof VecbusError && e.code === "UNAVAILABLE");
    assert.ok(Date.now() - started < 1_000, "the front door waited for the lock");
  } finally {
    holder.kill("SIGKILL");
  }
  fs.rmSync(usersLockFile(dataDir));
  createUser(dataDir, "b", "readonly");
  assert.deepEqual(Object.keys(readAuth(dataDir)!.users).filter((u) => u === "a" || u === "b"), ["b"]);
});

test("users file - a lock naming a pid that runs, but is another process than the one that took it (a pid reused after a crash or a reboot), is broken at once", { timeout: 60_000 }, async () => {
  const dataDir = tempDir("users-lock-reused");
  ensureAuth(dataDir, [DEFAULT_PREFIX], false);
  // This process runs, but it did not start at clock tick 1.
  fs.writeFileSync(usersLockFile(dataDir), `${process.pid} 1 - left-behind`);
  const started = Date.now();
  createUser(dataDir, "c", "readonly");
  assert.ok(Date.now() - started < 1_000, "a change waited for a lock whose holder is gone");
  assert.ok(readAuth(dataDir)!.users.c);
});

test("users file - a dead holder's lock that another process is breaking: the front door answers UNAVAILABLE at once instead of spinning", { timeout: 60_000 }, async () => {
  const dataDir = tempDir("users-lock-breaking");
  ensureAuth(dataDir, [DEFAULT_PREFIX], false);
  const breaker = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    fs.writeFileSync(usersLockFile(dataDir), `${await deadPid()} - - left-behind`);
    fs.writeFileSync(`${usersLockFile(dataDir)}.break`, `${breaker.pid} - - breaking`);
    const started = Date.now();
    await assert.rejects(userDirectory(dataDir, noServer).create("d", "secret-d", "readonly"), (e: unknown) => e instanceof VecbusError && e.code === "UNAVAILABLE");
    assert.ok(Date.now() - started < 1_000, "the front door waited");
  } finally {
    breaker.kill("SIGKILL");
  }
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}
