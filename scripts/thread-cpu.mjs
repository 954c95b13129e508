// How much CPU each thread of a bench run got: a CPU profile counts a thread
// busy while it waits for a core, and on two cores shared by the bench, the
// nats-server and vecbus (its event loop, search threads and V8's helpers)
// that wait is large. `record` samples every second the CPU time of every
// thread of the processes whose command line holds one of the patterns, and
// the machine's idle time, from /proc; `window` prints each thread's share of
// a core between two epoch seconds (the bench's lines, timestamped, give a
// phase's). The README's 1M figures were measured so:
//
//   node scripts/thread-cpu.mjs record cpu.jsonl "main.js serve" nats-server "main.js bench" &
//   node dist/cli/main.js bench --rows 1000000 --dim 128 --queries 4000 | while IFS= read -r l; do echo "$(date +%s.%N | cut -c1-14) $l"; done
//   kill %1; node scripts/thread-cpu.mjs window cpu.jsonl FROM TO
import fs from "node:fs";

const USER_HZ = 100;
const [mode, file, ...rest] = process.argv.slice(2);

function processes(patterns) {
  const found = [];
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let cmd;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue;
    }
    const pattern = patterns.find((p) => cmd.includes(p));
    if (pattern) found.push({ pid, pattern });
  }
  return found;
}

/** One line: epoch ms, the machine's idle seconds, and each thread's CPU seconds under "pattern|tid|name". */
function sample(patterns) {
  const row = { t: Date.now() };
  for (const { pid, pattern } of processes(patterns)) {
    let tids = [];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {}
    for (const tid of tids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        row[`${pattern}|${tid}|${name}`] = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
      } catch {}
    }
  }
  row.idle = Number(fs.readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/)[4]) / USER_HZ;
  fs.appendFileSync(file, JSON.stringify(row) + "\n");
}

function window(from, to) {
  const rows = fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.t / 1000 >= from && r.t / 1000 <= to);
  if (rows.length < 2) throw new Error("fewer than two samples in the window");
  const [a, b] = [rows[0], rows[rows.length - 1]];
  const seconds = (b.t - a.t) / 1000;
  const shares = Object.keys(b)
    .filter((k) => k !== "t" && k !== "idle")
    .map((k) => [k, (b[k] - (a[k] ?? 0)) / seconds])
    .filter(([, share]) => share >= 0.01)
    .sort((x, y) => y[1] - x[1]);
  for (const [k, share] of shares) console.log(`${(share * 100).toFixed(1).padStart(6)}%  ${k}`);
  const byProcess = {};
  for (const [k, share] of shares) byProcess[k.split("|")[0]] = (byProcess[k.split("|")[0]] ?? 0) + share;
  for (const [p, share] of Object.entries(byProcess)) console.log(`${(share * 100).toFixed(1).padStart(6)}%  all of ${p}`);
  console.log(`${(((b.idle - a.idle) / seconds) * 100).toFixed(1).padStart(6)}%  of a core idle (summed over the cores), over ${seconds.toFixed(1)} s`);
}

if (mode === "record" && file && rest.length > 0) {
  sample(rest);
  setInterval(() => sample(rest), 1000);
} else if (mode === "window" && file && rest.length === 2) {
  window(Number(rest[0]), Number(rest[1]));
} else {
  console.error("usage: node scripts/thread-cpu.mjs record FILE PATTERN... | window FILE FROM_EPOCH_S TO_EPOCH_S");
  process.exit(2);
}
