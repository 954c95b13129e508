// A data dir's users lock: a change of the users file holds it from its read
// to its reload, whichever process makes it (the CLI, a serve's start, a
// serve's Milvus front door), so no change is lost. The lock is a file made
// with O_EXCL that names its holder (pid and a token): a lock whose holder
// died is broken at once, under a second lock of the same kind, so two
// waiters cannot both break it and both go on; a holder removes only its own.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { alive } from "./process-alive.js";

/** A lock whose holder cannot be told (it died between making the file and naming itself) counts as dead after this long. */
const UNNAMED_STALE_MS = 10_000;

/** The lock was held by a running process for longer than the caller would wait. */
export class LockBusyError extends Error {}

export function withFileLock<T>(file: string, waitMs: number, change: () => T): T {
  const token = `${process.pid} ${randomBytes(8).toString("hex")}`;
  const deadline = Date.now() + waitMs;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  while (!take(file, token)) {
    const holder = read(file);
    if (holder !== undefined && !holderRuns(file, holder)) breakLock(file, holder, token);
    else if (Date.now() >= deadline) throw new LockBusyError(`${file} is held by another change (${holder ?? "gone"}); try again`);
    // A change takes milliseconds: a short sleep of this thread (the CLI's; the front door does not wait).
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  try {
    return change();
  } finally {
    release(file, token);
  }
}

function take(file: string, token: string): boolean {
  try {
    fs.writeFileSync(file, token, { flag: "wx", mode: 0o600 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function holderRuns(file: string, holder: string): boolean {
  const pid = Number(holder.split(" ")[0]);
  if (Number.isInteger(pid) && pid > 0) return alive(pid);
  const mtime = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
  return mtime !== undefined && Date.now() - mtime < UNNAMED_STALE_MS;
}

function breakLock(file: string, holder: string, token: string): void {
  const breaker = `${file}.break`;
  if (!take(breaker, token)) {
    const other = read(breaker);
    if (other !== undefined && !holderRuns(breaker, other)) fs.rmSync(breaker, { force: true });
    return;
  }
  try {
    if (read(file) === holder) fs.rmSync(file, { force: true });
  } finally {
    release(breaker, token);
  }
}

function release(file: string, token: string): void {
  if (read(file) === token) fs.rmSync(file, { force: true });
}
