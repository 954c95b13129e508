// Local scratch directories under the system's temporary one (TMPDIR), for
// work that needs files: a data node downloads a segment there and builds
// its index there (538 + 660 MB for a million 128-d rows); the bench keeps
// its serve child's data dir and its own index there. A directory is
// removed when its work ends, but not when its process is killed, and a
// node that is restarted after each kill would fill the disk. So each name
// carries its process's id, and a node (or bench) starting up removes those
// of processes that no longer run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { alive } from "../runtime/process-alive.js";

/** `vecbus-<use>-<pid>-`: mkdtemp appends six characters. */
function prefix(use: string, pid: number): string {
  return `vecbus-${use}-${pid}-`;
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
 * Removes the `use` directories of processes that no longer run, and returns
 * their paths. Never this process's own: another node in it may be working
 * in one. A process id reused since keeps its directory until that process
 * ends too.
 */
export async function removeOrphanedScratchDirs(use: string, parent = os.tmpdir()): Promise<string[]> {
  const pattern = new RegExp(`^vecbus-${use}-(\\d+)-[A-Za-z0-9]{6}$`);
  const removed: string[] = [];
  for (const name of await fs.promises.readdir(parent).catch(() => [])) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    const dir = path.join(parent, name);
    await fs.promises.rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
