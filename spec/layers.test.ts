// The layers of the code import only downward (README "Layout"):
// protocol → runtime → storage / engine → actors → cli. The engine is pure
// (no NATS, no storage), and the client entry point (`vecbus/client`) loads
// neither usearch nor any actor. Checked on the import statements themselves.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ROOT } from "./cli/serve-process.js";

const RANK: Record<string, number> = { protocol: 0, runtime: 1, storage: 2, engine: 2, actors: 3, cli: 4 };

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    return e.isDirectory() ? sources(rel) : rel.endsWith(".ts") ? [rel] : [];
  });
}

/** The files and packages a source file imports (relative imports resolved to .ts paths from the root). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => (m[1].startsWith(".") ? path.normalize(path.join(path.dirname(file), m[1].replace(/\.js$/, ".ts"))) : m[1]));
}

const layer = (file: string) => file.split(path.sep)[0];

test("layers - every import goes to the same layer or one below", () => {
  const bad: string[] = [];
  for (const dir of Object.keys(RANK)) {
    for (const file of sources(dir)) {
      for (const target of importsOf(file)) {
        if (!(layer(target) in RANK)) continue;
        if (RANK[layer(target)] > RANK[layer(file)]) bad.push(`${file} imports ${target}`);
        if (layer(file) === "engine" && layer(target) === "storage") bad.push(`${file} (engine) imports ${target}`);
      }
      if (layer(file) === "engine" && importsOf(file).some((t) => t.startsWith("@nats-io/"))) bad.push(`${file} (engine) imports NATS`);
    }
  }
  assert.deepEqual(bad, []);
});

test("layers - the client entry point reaches neither usearch, the engine, storage nor any actor", () => {
  const seen = new Set<string>();
  const queue = ["runtime/client.ts"];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const t of importsOf(file)) if (t.endsWith(".ts")) queue.push(t);
      else seen.add(t);
  }
  const reached = [...seen].filter((f) => f === "usearch" || ["engine", "storage", "actors", "cli"].includes(layer(f)));
  assert.deepEqual(reached, []);
  assert.ok(seen.has("protocol/api.ts"), "the walk follows imports");
});
