// `vecbus serve` (or `vecbus start ROLE`) as a child process, the way users
// run it: started from the sources with tsx, ready once it prints its
// "vecbus ready on URL" line.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { EVENTUALLY_MS } from "../timeouts.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHILD_ENV = { ...process.env, VECBUS_LOG: "warn" };

export interface ServeProcess {
  child: ChildProcess;
  /** The url from serve's ready line ("" for a single role). */
  url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stderr(): string;
  /** Every line it printed on stdout so far. */
  stdout(): string[];
  /** SIGKILLs the child if it still runs, and waits for it. */
  kill(): Promise<void>;
}

/** Starts `vecbus serve` with these arguments and waits for its ready line; fails if it exits first or is not ready by the deadline. */
export function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  return startVecbus(["serve", ...args], env);
}

/** Starts `vecbus ARGV...` (serve, or start ROLE) and waits for its ready line. */
export async function startVecbus(argv: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const what = argv.slice(0, 2).join(" ");
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", ...argv], { cwd: ROOT, env: { ...CHILD_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const stdout: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} not ready in ${EVENTUALLY_MS} ms:\n${stderr}`)), EVENTUALLY_MS);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${what} exited with ${code} before it was ready:\n${stderr}`));
      });
      readline.createInterface({ input: child.stdout! }).on("line", (line) => {
        stdout.push(line);
        // serve names its url; a single role names itself.
        const m = /^vecbus (?:ready on (\S+)|\S+ ready \(node \S+\))$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] ?? "");
        }
      });
    });
    return { child, url, exited, stderr: () => stderr, stdout: () => stdout, kill };
  } catch (e) {
    await kill();
    throw e;
  }
}
