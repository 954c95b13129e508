// A data dir's users lock: a change of the users file holds it from its read
// to its reload, whichever process makes it (the CLI, a serve's start, a
// serve's Milvus front door), so no change is lost. The lock is a file made
// with O_EXCL that names its holder (pid, the process's start time and the
// boot, so a pid reused after a crash or a reboot is not taken for the
// holder): a lock whose holder died is broken at once, under a second lock of
// the same kind, so two waiters cannot both break it and both go on; a holder
// removes only its own. Node has no flock: the one window left is a waiter
// dying while it breaks a lock, with two others waiting (three processes
// changing users at once, one of them killed within microseconds). The pids
// must be of one host and pid namespace: a CLI in another container than the
// serve sharing the data dir would see every holder as dead.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { alive } from "../runtime/process-alive.js";

/** A lock whose holder cannot be told (it died between making the file and naming itself) counts as dead after this long. */
const UNNAMED_STALE_MS = 10_000;

/** The lock was held by a running process for longer than the caller would wait. */
export class LockBusyError extends Error {}

export function withFileLock<T>(file: string, waitMs: number, change: () => T): T {
  const token = `${identity(process.pid)} ${randomBytes(8).toString("hex")}`;
  const deadline = Date.now() + waitMs;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  while (!take(file, token)) {
    const holder = read(file);
    if (holder !== undefined && !holderRuns(file, holder) && breakLock(file, holder, token)) continue;
    if (Date.now() >= deadline) {
      throw new LockBusyError(`${file} is held by another change (${holder ?? "gone"}); try again (if no vecbus runs on this data dir, remove the file)`);
    }
    // A change takes milliseconds: a short sleep of this thread (the CLI's; the front door does not wait).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  try {
    return change();
  } finally {
    release(file, token);
  }
}

function take(file: string, token: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  // Made by this open, so ours to remove when it cannot be named (a disk full).
  try {
    fs.writeSync(fd, token);
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw e;
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** A process as a lock names it: pid, start time (clock ticks since boot) and boot id, where /proc has them. */
function identity(pid: number): string {
  return `${pid} ${startTime(pid) ?? "-"} ${bootId() ?? "-"}`;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

let boot: string | undefined;
function bootId(): string | undefined {
  try {
    return (boot ??= fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  } catch {
    return undefined;
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

/** Whether the process a lock names still runs: the same pid, started at the same time, since the same boot. */
function holderRuns(file: string, holder: string): boolean {
  const [pidText, started, booted] = holder.split(" ");
  const pid = Number(pidText);
  if (!(Number.isInteger(pid) && pid > 0) || started === undefined || booted === undefined) {
    const mtime = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    return mtime !== undefined && Date.now() - mtime < UNNAMED_STALE_MS;
  }
  const thisBoot = bootId();
  if (booted !== "-" && thisBoot !== undefined && booted !== thisBoot) return false;
  if (!alive(pid)) return false;
  const now = startTime(pid);
  return started === "-" || now === undefined || started === now;
}

/** Removes a lock whose holder is dead, under the break lock; true when it did. */
function breakLock(file: string, holder: string, token: string): boolean {
  const breaker = `${file}.break`;
  if (!take(breaker, token)) {
    const other = read(breaker);
    if (other !== undefined && !holderRuns(breaker, other)) fs.rmSync(breaker, { force: true });
    return false;
  }
  try {
    // Looked at again under the break lock: a lock made meanwhile (empty while its maker names itself) is live.
    const now = read(file);
    if (now !== holder || now === undefined || holderRuns(file, now)) return false;
    fs.rmSync(file, { force: true });
    return true;
  } finally {
    release(breaker, token);
  }
}

function release(file: string, token: string): void {
  if (read(file) === token) fs.rmSync(file, { force: true });
}
