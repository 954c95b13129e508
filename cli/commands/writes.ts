// `vecbus insert|upsert|delete|flush`.
import fs from "node:fs";
import readline from "node:readline";
import { VecbusError } from "../../protocol/errors.js";
import type { PrimaryKey, Row } from "../../protocol/rows.js";
import { VecbusClient } from "../../runtime/client.js";
import { Action, ClientCommandSpec, flag, need, Options, Output, Parsed, plural, positiveInt, str, UsageError } from "../command.js";
import { progress } from "../progress.js";
import { parseIds } from "./reads.js";
import { parseJson } from "../../runtime/json.js";

export function writeCommands(): ClientCommandSpec[] {
  const fileOptions: Options = { file: { type: "string" }, batch: { type: "string" }, partition: { type: "string" } };
  const fromFile = (mode: WriteMode) => (p: Parsed) => {
    const file = need(p, "file");
    const opts = { name: p.positionals[0], file, fileBytes: fileSize(file), batch: positiveInt(p, "batch", 1000), keepIds: flag(p, "json"), partition: str(p, "partition") };
    return (client: VecbusClient) => writeFile(client, mode, opts);
  };
  return [
    { name: "insert", args: "NAME --file rows.jsonl [--batch 1000] [--partition NAME]", summary: "insert rows from a JSON-lines file", positionals: ["NAME"], options: fileOptions, plan: fromFile("insert") },
    { name: "upsert", args: "NAME --file rows.jsonl [--batch 1000] [--partition NAME]", summary: "upsert rows from a JSON-lines file", positionals: ["NAME"], options: fileOptions, plan: fromFile("upsert") },
    {
      name: "delete",
      args: "NAME --ids 1,2,3 | --filter EXPR [--partition NAME]",
      summary: "delete rows by primary key or by filter",
      positionals: ["NAME"],
      options: { ids: { type: "string" }, filter: { type: "string" }, partition: { type: "string" } },
      plan: planDelete,
    },
    {
      name: "flush",
      args: "NAME",
      summary: "seal every shard's growing segment and wait until the object store holds it",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.flush({ collection_name: p.positionals[0] });
        return { data: r, text: `flushed ${plural(r.flushed_segments, "segment")}` };
      },
    },
  ];
}

function planDelete(p: Parsed): Action {
  const ids = str(p, "ids");
  const filter = str(p, "filter");
  if ((ids === undefined) === (filter === undefined)) throw new UsageError("delete needs exactly one of --ids or --filter");
  const args = { collection_name: p.positionals[0], ids: ids === undefined ? undefined : parseIds(ids), filter, partition_name: str(p, "partition") };
  return async (client) => {
    const r = await client.call("delete", args);
    return { data: r, text: `deleted ${plural(r.delete_count, "row")}` };
  };
}

type WriteMode = "insert" | "upsert";

interface Batch {
  rows: Row[];
  /** The file line each row came from, for error messages. */
  lines: number[];
}

interface WriteState {
  rows: number;
  lastLine: number;
  ids: PrimaryKey[];
}

interface WriteOptions {
  name: string;
  file: string;
  fileBytes: number;
  batch: number;
  /** Only --json prints the ids; a large file's ids are not worth holding otherwise. */
  keepIds: boolean;
  /** Absent: the _default partition (or, with a partition key, the key's). */
  partition?: string;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Rows are sent one batch at a time, in file order, so a later line wins over an earlier one with the same key. */
async function writeFile(client: VecbusClient, mode: WriteMode, opts: WriteOptions): Promise<Output> {
  const shown = progress(`${mode}ed rows`);
  const state: WriteState = { rows: 0, lastLine: 0, ids: [] };
  const started = performance.now();
  let failed = true;
  try {
    await readBatches(opts, async (batch, estimatedTotal) => {
      await sendBatch(client, mode, opts, batch, state);
      shown.update(state.rows, estimatedTotal);
    });
    failed = false;
  } finally {
    shown.done(writeSummary(mode, state, (performance.now() - started) / 1000, failed));
  }
  return { data: { [`${mode}_count`]: state.rows, ids: state.ids } };
}

function writeSummary(mode: WriteMode, state: WriteState, seconds: number, failed: boolean): string {
  const rate = Math.round(state.rows / Math.max(seconds, 0.001));
  const summary = `${mode}ed ${plural(state.rows, "row")} in ${seconds.toFixed(2)} s (${rate} rows/s)`;
  return failed && state.rows > 0 ? `${summary}; every row through line ${state.lastLine} is in` : summary;
}

/** Streams the file; the total passed on is estimated from the bytes read so far, as counting lines would read the file twice. */
async function readBatches(opts: WriteOptions, onBatch: (b: Batch, estimatedTotal: number) => Promise<void>): Promise<void> {
  const input = fs.createReadStream(opts.file);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let batch: Batch = { rows: [], lines: [] };
  let lineNo = 0;
  let rowsRead = 0;
  let bytesRead = 0;
  const flush = async () => {
    await onBatch(batch, Math.max(rowsRead, Math.round((rowsRead * opts.fileBytes) / Math.max(bytesRead, 1))));
    batch = { rows: [], lines: [] };
  };
  try {
    for await (const line of lines) {
      lineNo++;
      bytesRead += Buffer.byteLength(line) + 1;
      if (line.trim() === "") continue;
      batch.rows.push(parseRow(opts.file, line, lineNo));
      batch.lines.push(lineNo);
      rowsRead++;
      if (batch.rows.length >= opts.batch) await flush();
    }
    if (batch.rows.length > 0) await flush();
  } finally {
    lines.close();
    input.destroy();
  }
}

function parseRow(file: string, line: string, lineNo: number): Row {
  let v: unknown;
  try {
    v = parseJson(line);
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} line ${lineNo}: not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} line ${lineNo}: each line must be one JSON object (a row)`);
  }
  return v as Row;
}

/** The client refuses a request over the NATS payload limit before sending it, so splitting one cannot write a row twice. */
async function sendBatch(client: VecbusClient, mode: WriteMode, opts: WriteOptions, batch: Batch, state: WriteState): Promise<void> {
  const args = { collection_name: opts.name, data: batch.rows, partition_name: opts.partition };
  try {
    const { ids } = await client.call(mode, args);
    if (opts.keepIds) for (const id of ids) state.ids.push(id);
    state.rows += ids.length;
    state.lastLine = batch.lines[batch.lines.length - 1];
  } catch (e) {
    if (e instanceof VecbusError && e.code === "PAYLOAD_TOO_LARGE" && batch.rows.length > 1) {
      const half = Math.ceil(batch.rows.length / 2);
      await sendBatch(client, mode, opts, { rows: batch.rows.slice(0, half), lines: batch.lines.slice(0, half) }, state);
      await sendBatch(client, mode, opts, { rows: batch.rows.slice(half), lines: batch.lines.slice(half) }, state);
      return;
    }
    throw locateError(e, opts.file, batch);
  }
}

/** The server numbers rows within a request; the user needs the line in the file. */
function locateError(e: unknown, file: string, batch: Batch): unknown {
  if (!(e instanceof VecbusError)) return e;
  const m = /^row (\d+): (.*)$/s.exec(e.message);
  const line = m ? batch.lines[Number(m[1])] : undefined;
  if (m && line !== undefined) return new VecbusError(e.code, `${file} line ${line}: ${m[2]}`);
  return new VecbusError(e.code, `${file} lines ${batch.lines[0]}-${batch.lines[batch.lines.length - 1]}: ${e.message}`);
}
