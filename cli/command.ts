// What every vecbus command is made of: the command shapes, the usage error,
// and the helpers that read its arguments.
import fs from "node:fs";
import { type ParseArgsConfig } from "node:util";
import { CONSISTENCY_LEVELS, type ConsistencyLevel } from "../protocol/collection.js";
import { VecbusError } from "../protocol/errors.js";
import { VecbusClient } from "../runtime/client.js";
import { CONNECTION_OPTIONS } from "./connection.js";
import { parseJson } from "../runtime/json.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

export interface Command {
  /** The words after `vecbus`, e.g. "collection create". */
  name: string;
  args: string;
  summary: string;
  positionals: string[];
  options: Options;
  run(p: Parsed): Promise<number>;
}

/** What a data command prints: `data` with --json, else `text` when there is any. */
export interface Output {
  data: unknown;
  text?: string;
}
export type Action = (client: VecbusClient) => Promise<Output>;

export interface ClientCommandSpec {
  name: string;
  args: string;
  summary: string;
  positionals?: string[];
  options?: Options;
  /** Checks the arguments before anything connects, so usage errors never wait on NATS. */
  plan(p: Parsed): Action;
}

export class UsageError extends Error {
  constructor(
    message: string,
    public command?: Command,
  ) {
    super(message);
  }
}


export const CLIENT_OPTIONS: Options = {
  ...CONNECTION_OPTIONS,
  prefix: { type: "string" },
  json: { type: "boolean" },
};

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

export function need(p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function int(p: Parsed, name: string): number | undefined {
  const s = str(p, name);
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s.trim())) throw new UsageError(`--${name} must be an integer, got "${s}"`);
  return Number(s);
}

export function positiveInt(p: Parsed, name: string, dflt: number): number {
  const n = int(p, name) ?? dflt;
  if (n < 1) throw new UsageError(`--${name} must be at least 1, got ${n}`);
  return n;
}

/** An integer of 0 or more (an --offset), if given. */
export function nonNegativeInt(p: Parsed, name: string): number | undefined {
  const n = int(p, name);
  if (n !== undefined && n < 0) throw new UsageError(`--${name} must be 0 or more, got ${n}`);
  return n;
}

/** Any finite number, e.g. a range search's --radius. */
export function num(p: Parsed, name: string): number | undefined {
  const s = str(p, name);
  if (s === undefined) return undefined;
  const n = s.trim() === "" ? NaN : Number(s);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${s}"`);
  return n;
}

/** A comma-separated list of numbers, e.g. --weights 0.7,0.3. */
export function numberList(p: Parsed, name: string): number[] | undefined {
  const parts = list(p, name);
  if (parts === undefined) return undefined;
  const ns = parts.map(Number);
  if (parts.length === 0 || !ns.every(Number.isFinite)) throw new UsageError(`--${name} must be a comma-separated list of numbers, got "${str(p, name)}"`);
  return ns;
}

export function list(p: Parsed, name: string): string[] | undefined {
  return str(p, name)
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** --partitions a,b: a read restricted to some partitions (absent: every partition). */
export function partitionNames(p: Parsed): string[] | undefined {
  const names = list(p, "partitions");
  if (names !== undefined && names.length === 0) throw new UsageError("--partitions needs at least one partition name");
  return names;
}

/** --consistency LEVEL in any letter case, checked here so a typo never waits on NATS. */
export function consistency(p: Parsed): ConsistencyLevel | undefined {
  const s = str(p, "consistency");
  if (s === undefined) return undefined;
  const level = CONSISTENCY_LEVELS.find((l) => l.toLowerCase() === s.trim().toLowerCase());
  if (!level) throw new UsageError(`--consistency must be one of ${CONSISTENCY_LEVELS.join(", ")}; got "${s}"`);
  return level;
}

/** Names one per line, or a placeholder for none. */
export function lines(names: string[], none: string): string {
  return names.length > 0 ? names.join("\n") : none;
}

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return parseJson(text);
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}
