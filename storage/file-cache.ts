// Objects of the object store kept as local files, for what must be read
// from a file (a usearch index is mapped, not loaded; a query node reads a
// segment's vectors from its file as rows are scored). Objects never change
// once written, and the file name carries the object's digest, so a cached
// file is always good.
import { randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { VecbusError } from "../protocol/errors.js";
import type { BlobStore } from "./object-store.js";

export class FileCache {
  constructor(
    private readonly blobs: BlobStore,
    readonly dir: string,
  ) {}

  async open(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  /** The object's local file, downloaded if not here yet. `why` names who needs it, for the error when it is missing. */
  async file(object: string, why: string): Promise<string> {
    const digest = await this.blobs.digest(object);
    if (!digest) throw missing(object, why);
    const file = path.join(this.dir, `${object}.${digest}`.replaceAll(/[^A-Za-z0-9_.-]/g, "_"));
    try {
      await fs.access(file);
      return file;
    } catch {
      // Unique: two downloads of one object must not write into the same file.
      const tmp = `${file}.${randomUUID()}.tmp`;
      try {
        if (!(await this.blobs.getToFile(object, tmp))) throw missing(object, why);
        await fs.rename(tmp, file);
      } finally {
        await fs.rm(tmp, { force: true });
      }
      return file;
    }
  }

  /** Removes cached files, but those in `keep`. */
  async remove(files: Iterable<string>, keep: Iterable<string> = []): Promise<void> {
    const kept = new Set(keep);
    await Promise.all([...files].filter((f) => !kept.has(f)).map((f) => fs.rm(f, { force: true })));
  }
}

function missing(object: string, why: string): VecbusError {
  return new VecbusError("INTERNAL", `object ${object} is ${why} but missing from the object store`);
}
