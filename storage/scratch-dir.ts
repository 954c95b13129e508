// Local scratch directories under the system's temporary one (TMPDIR), for
// work that needs files: a data node downloads a segment there and builds
// its index there (538 + 660 MB for a million 128-d rows); the bench keeps
// its serve child's data dir and its own index there. A directory is
// removed when its work ends, but not when its process is killed, and a
// node that is restarted after each kill would fill the disk. So each name
// carries its host and process id, and a node (or bench) starting up
// removes those of this host's processes that no longer run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { alive } from "../runtime/process-alive.js";

/** This host, as a name may carry it: processes of other hosts sharing the directory (containers sharing a volume) have pids of their own. */
const HOST = os.hostname().replaceAll(/[^A-Za-z0-9]/g, "_");

/** `vecbus-<use>-<host>-<pid>-`: mkdtemp appends six characters. */
function prefix(use: string, pid: number | string): string {
  if (!/^[a-z]+(-[a-z]+)*$/.test(use)) throw new Error(`a scratch directory's use is lowercase words joined by "-", not ${JSON.stringify(use)}`);
  return `vecbus-${use}-${HOST}-${pid}-`;
}

/** A fresh directory of this process, for its caller to remove. */
export function makeScratchDir(use: string, parent = os.tmpdir()): Promise<string> {
  return fs.promises.mkdtemp(path.join(parent, prefix(use, process.pid)));
}

/** Runs `work` with a fresh directory of this process, removed after it. */
export async function withScratchDir<T>(use: string, work: (dir: string) => Promise<T>, parent = os.tmpdir()): Promise<T> {
  const dir = await makeScratchDir(use, parent);
  try {
    return await work(dir);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes the `use` directories of this host's processes that no longer
 * run, and returns their paths. Never this process's own (another node in
 * it may be working in one), nor one `inUse` claims (a process the dead
 * one started may still work there), nor one it may not remove (another
 * user's). A process id reused since keeps its directory until that
 * process ends too.
 */
export async function removeOrphanedScratchDirs(use: string, parent = os.tmpdir(), inUse: (dir: string) => boolean = () => false): Promise<string[]> {
  const pattern = new RegExp(`^${prefix(use, "(\\d+)")}[A-Za-z0-9]{6}$`);
  const removed: string[] = [];
  for (const name of await fs.promises.readdir(parent).catch(() => [])) {
    const pid = Number(pattern.exec(name)?.[1]);
    const dir = path.join(parent, name);
    if (!pid || pid === process.pid || alive(pid) || inUse(dir)) continue;
    try {
      await fs.promises.rm(dir, { recursive: true });
      removed.push(dir);
    } catch {
      // Not ours to remove, or gone already.
    }
  }
  return removed;
}
