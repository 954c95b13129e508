// Loaded into every test file's process (`--import` in package.json's test
// script). A file whose tests are done but which leaked a handle (a timer, a
// NATS connection) would keep its process, and so CI, waiting forever. Node
// 20's --test-force-exit ends such a file, but at once: the runner sometimes
// lost the file's last results that were still being written (seen: 351 of
// 358 tests reported, with `fail 0`). This guard waits 30 s after the file's
// last test (its own `after` hooks, such as stopping a nats-server, run
// meanwhile), long enough for every result to be written, then ends the
// process only if it is still there, keeping a failing file's exit code.
import { after } from "node:test";

const GRACE_MS = 30_000;

after(() => {
  setTimeout(() => {
    process.stderr.write(`exit-guard: ${process.argv[1]} kept running ${GRACE_MS} ms after its last test (a leaked handle); ending it\n`);
    process.exit(process.exitCode ?? 0);
  }, GRACE_MS).unref();
});
