// Files shipped beside the code (nats.conf, proto/): found from the module's
// own place, whether it runs from the sources (tsx) or from dist/.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The path of `rel` in the vecbus package. */
export function packageFile(rel: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = path.join(dir, rel);
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  throw new Error(`${rel} not found in the vecbus package`);
}
