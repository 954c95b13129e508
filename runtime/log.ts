// Logging to stderr, one line per event. VECBUS_LOG=debug|info|warn|error|silent.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, "silent">;

function threshold(): number {
  const env = (process.env.VECBUS_LOG ?? "info") as keyof typeof LEVELS;
  return LEVELS[env] ?? LEVELS.info;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(name: string): Logger;
}

export function logger(name: string): Logger {
  const min = threshold();
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const extra = fields ? " " + JSON.stringify(fields, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) : "";
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${name}] ${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (sub) => logger(`${name}/${sub}`),
  };
}
