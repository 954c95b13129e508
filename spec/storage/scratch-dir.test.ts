// Scratch directories under TMPDIR: named for their process, removed after
// their work, and those of killed processes removed by the next node that
// starts. The dead process is one this test ran to its end.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { DataNode } from "../../actors/data.js";
import { openContext } from "../../actors/context.js";
import { Names } from "../../protocol/subjects.js";
import { closeConnection } from "../../runtime/connection.js";
import { removeOrphanedScratchDirs, withScratchDir } from "../../storage/scratch-dir.js";
import { startEnv } from "../harness.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

/** This host as scratch directory names carry it. */
const HOST = os.hostname().replaceAll(/[^A-Za-z0-9]/g, "_");

/** The pid of a process that has ended. */
function endedPid(): number {
  const run = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(run.stdout);
}

/** Makes `parent/name` holding one file, and returns its path. */
function dirWithFile(parent: string, name: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "segment"), "rows");
  return dir;
}

function scratchParent(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-scratch-test-"));
}

test("scratch dir - work runs in a directory named for this process, removed after it, also when the work fails", async () => {
  const parent = scratchParent();
  try {
    let seen = "";
    const result = await withScratchDir(
      "build",
      async (dir) => {
        seen = dir;
        assert.equal(path.basename(dir).slice(0, -6), `vecbus-build-${HOST}-${process.pid}-`);
        assert.match(path.basename(dir).slice(-6), /^[A-Za-z0-9]{6}$/);
        fs.writeFileSync(path.join(dir, "index.usearch"), "graph");
        return 7;
      },
      parent,
    );
    assert.equal(result, 7);
    assert.equal(fs.existsSync(seen), false, "removed after the work");
    await assert.rejects(
      withScratchDir(
        "build",
        async (dir) => {
          seen = dir;
          throw new Error("build failed");
        },
        parent,
      ),
      /build failed/,
    );
    assert.equal(fs.existsSync(seen), false, "removed after a failed work");
  } finally {
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test("scratch dir - only the directories of this host's ended processes are removed: not a running one's, this one's, a claimed one, another kind's or another host's", async () => {
  const parent = scratchParent();
  try {
    const dead = endedPid();
    const orphan = dirWithFile(parent, `vecbus-build-${HOST}-${dead}-a1B2c3`);
    const claimed = dirWithFile(parent, `vecbus-build-${HOST}-${dead}-d4E5f6`);
    const kept = [
      claimed,
      dirWithFile(parent, `vecbus-build-${HOST}-${process.ppid}-a1B2c3`),
      dirWithFile(parent, `vecbus-build-${HOST}-${process.pid}-a1B2c3`),
      dirWithFile(parent, `vecbus-bench-${HOST}-${dead}-a1B2c3`),
      dirWithFile(parent, `vecbus-build-elsewhere-${dead}-a1B2c3`),
      dirWithFile(parent, `vecbus-build-${HOST}-${dead}-a1B2c3d`),
      dirWithFile(parent, `vecbus-build-a1B2c3`),
    ];
    assert.deepEqual(await removeOrphanedScratchDirs("build", parent, (dir) => dir === claimed), [orphan]);
    assert.equal(fs.existsSync(orphan), false);
    for (const dir of kept) assert.equal(fs.existsSync(path.join(dir, "segment")), true, `${path.basename(dir)} kept`);
    await assert.rejects(removeOrphanedScratchDirs("build.*", parent), /lowercase words/);
  } finally {
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test("scratch dir - a data node starting removes the build directories a killed one left in TMPDIR", { timeout: TEST_TIMEOUT_MS }, async () => {
  const parent = scratchParent();
  const env = await startEnv({ roles: "none", tag: "scratch" });
  const nc = await env.connectAs("data", "scratch-data");
  const tmpdir = process.env.TMPDIR;
  let node: DataNode | undefined;
  try {
    const orphan = dirWithFile(parent, `vecbus-build-${HOST}-${endedPid()}-Zz9Yy8`);
    const running = dirWithFile(parent, `vecbus-build-${HOST}-${process.ppid}-Zz9Yy8`);
    process.env.TMPDIR = parent;
    node = new DataNode(await openContext(nc, new Names().prefix, "scratch-data"), "scratch-data");
    await node.start();
    assert.equal(fs.existsSync(orphan), false, "the killed node's directory is gone");
    assert.equal(fs.existsSync(path.join(running, "segment")), true, "a running process's directory stays");
  } finally {
    if (tmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdir;
    await node?.stop();
    await closeConnection(nc, 200);
    await env.close();
    fs.rmSync(parent, { recursive: true, force: true });
  }
});
