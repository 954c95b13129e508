// What a vecbus process does with an error nothing caught. A rejected promise
// nobody awaited is logged with its stack and the process goes on serving:
// each actor's request handling and watch loops catch their own errors, so
// such a rejection is a background task's (a heartbeat, a cleanup) and the
// other actors are unharmed. An exception thrown synchronously out of a
// callback leaves state half-changed, so it is logged and the process exits 1
// for its supervisor to restart it; nothing acknowledged is lost, since acked
// writes are in the WAL.
import type { Logger } from "../runtime/log.js";

export function installProcessGuard(log: Logger): void {
  process.on("unhandledRejection", (reason) => {
    log.error("unhandled rejection (the process keeps serving)", { error: String((reason as Error)?.stack ?? reason) });
  });
  process.on("uncaughtException", (e) => {
    log.error("uncaught exception: exiting for a restart", { error: String(e?.stack ?? e) });
    process.exitCode = 1;
    process.stderr.write("", () => process.exit(1));
  });
}
