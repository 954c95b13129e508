#!/usr/bin/env node
// The `vecbus` command: runs the server (`serve`, `start <role>`) and is a
// client for every public API method. Exit codes: 0 success, 1 an error
// reported by vecbus (or NATS), 2 a usage error.
import { parseArgs } from "node:util";
import { VecbusError } from "../protocol/errors.js";
import { VecbusClient } from "../runtime/client.js";
import { logger } from "../runtime/log.js";
import { Action, CLIENT_OPTIONS, ClientCommandSpec, Command, flag, Parsed, str, UsageError, Values } from "./command.js";
import { aliasCommands } from "./commands/alias.js";
import { collectionCommands } from "./commands/collection.js";
import { indexCommands } from "./commands/indexes.js";
import { partitionCommands } from "./commands/partition.js";
import { readCommands } from "./commands/reads.js";
import { serverCommands } from "./commands/server.js";
import { statusCommands } from "./commands/status.js";
import { userCommands } from "./commands/users.js";
import { writeCommands } from "./commands/writes.js";
import { CONNECTION_HELP, natsAuth, natsUrl } from "./connection.js";
import { installProcessGuard } from "./process-guard.js";
import { jsonText } from "../runtime/json.js";

function clientCommand(spec: ClientCommandSpec): Command {
  return {
    name: spec.name,
    args: spec.args,
    summary: spec.summary,
    positionals: spec.positionals ?? [],
    options: { ...CLIENT_OPTIONS, ...spec.options },
    run: (p) => runWithClient(p, spec.plan(p)),
  };
}

async function runWithClient(p: Parsed, action: Action): Promise<number> {
  const client = await VecbusClient.connect(natsUrl(p.values), { prefix: str(p, "prefix"), auth: natsAuth(p.values) });
  try {
    const out = await action(client);
    if (flag(p, "json")) process.stdout.write(`${jsonText(out.data)}\n`);
    else if (out.text) process.stdout.write(`${out.text}\n`);
    return 0;
  } finally {
    await client.close().catch(() => undefined);
  }
}

const COMMANDS: Command[] = [
  ...serverCommands(),
  ...userCommands(),
  ...[...collectionCommands(), ...partitionCommands(), ...aliasCommands(), ...indexCommands(), ...writeCommands(), ...readCommands(), ...statusCommands()].map(clientCommand),
];

function usage(): string {
  // Optional flags are left to `vecbus help COMMAND`, to keep one line per command.
  const rows = COMMANDS.map((c) => [`${c.name} ${c.args.replace(/ ?\[--[^\]]*\]/g, "")}`.trim(), c.summary]);
  rows.push(["help [COMMAND]", "this text, or one command's options"]);
  const width = Math.max(...rows.map(([a]) => a.length));
  return [
    "usage: vecbus <command> [options]",
    "",
    ...rows.map(([a, s]) => `  ${a.padEnd(width)}  ${s}`),
    "",
    `Client commands take ${CONNECTION_HELP}, --prefix P and --json.`,
  ].join("\n");
}

function commandUsage(c: Command): string {
  const opts = Object.entries(c.options).map(([k, o]) => (o.type === "string" ? `--${k} VALUE` : `--${k}`));
  return `usage: vecbus ${`${c.name} ${c.args}`.trim()}\n\n${c.summary}\noptions: ${opts.join(", ")}`;
}

function findCommand(argv: string[]): Command {
  const cmd = COMMANDS.find((c) => c.name === argv.slice(0, 2).join(" ")) ?? COMMANDS.find((c) => c.name === argv[0]);
  if (cmd) return cmd;
  if (COMMANDS.some((c) => c.name.startsWith(`${argv[0]} `))) {
    throw new UsageError(argv[1] === undefined ? `"${argv[0]}" needs a subcommand` : `unknown command "${argv[0]} ${argv[1]}"`);
  }
  throw new UsageError(`unknown command "${argv[0]}"`);
}

function parse(cmd: Command, args: string[]): Parsed {
  let r;
  try {
    r = parseArgs({ args, options: { ...cmd.options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (e) {
    // Node's message goes on to explain `--` for positionals, which is rarely what was meant.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  const p = { values: r.values as Values, positionals: r.positionals };
  if (!flag(p, "help") && p.positionals.length !== cmd.positionals.length) {
    const want = cmd.positionals.length === 0 ? "no arguments" : cmd.positionals.join(" ");
    throw new UsageError(`expected ${want}, got ${p.positionals.length === 0 ? "none" : p.positionals.map((x) => `"${x}"`).join(" ")}`);
  }
  return p;
}

function help(topic: string[]): number {
  const cmd = topic.length > 0 ? COMMANDS.find((c) => c.name === topic.join(" ")) : undefined;
  if (topic.length > 0 && !cmd) throw new UsageError(`unknown command "${topic.join(" ")}"`);
  console.log(cmd ? commandUsage(cmd) : usage());
  return 0;
}

async function dispatch(argv: string[]): Promise<number> {
  if (argv.length === 0 || ["help", "--help", "-h"].includes(argv[0])) return help(argv.slice(1));
  const cmd = findCommand(argv);
  try {
    const p = parse(cmd, argv.slice(cmd.name.split(" ").length));
    if (flag(p, "help")) {
      console.log(commandUsage(cmd));
      return 0;
    }
    return await cmd.run(p);
  } catch (e) {
    if (e instanceof UsageError) e.command ??= cmd;
    throw e;
  }
}

function report(e: unknown, json: boolean): number {
  if (e instanceof UsageError) {
    process.stderr.write(`vecbus: ${e.message}\n\n${e.command ? commandUsage(e.command) : usage()}\n`);
    return 2;
  }
  const err = e instanceof VecbusError ? e.toBody() : { code: "INTERNAL", message: e instanceof Error ? e.message : String(e) };
  process.stderr.write(e instanceof VecbusError ? `error ${err.code}: ${err.message}\n` : `error: ${err.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: err })}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  installProcessGuard(logger("process"));
  try {
    return await dispatch(argv);
  } catch (e) {
    return report(e, argv.includes("--json"));
  }
}

// `vecbus query ... | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(0);
});

// Exit explicitly, so an actor timer or a half-closed socket cannot keep a finished
// command alive; but only once the output is flushed, as writes to a pipe are async.
main(process.argv.slice(2)).then((code) => {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
});
