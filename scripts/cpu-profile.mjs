// Where a busy process spent its time: reads a V8 CPU profile (node
// --cpu-prof) and prints, for a window of seconds since the profile began,
// the share of busy samples by function (self, and inclusive of callees),
// and with --timeline the busy share of every second (to find the window
// of a bench phase). The README's performance section was profiled so:
//
//   node --cpu-prof --cpu-prof-dir=prof dist/cli/main.js serve --data d --port 14222 &
//   node dist/cli/main.js bench --nats-url nats://127.0.0.1:14222 --data d --rows 100000
//   kill %1; node scripts/cpu-profile.mjs prof/CPU.*.001.cpuprofile --timeline
//   node scripts/cpu-profile.mjs prof/CPU.*.001.cpuprofile 43 49
import fs from "node:fs";

const [file, fromArg, toArg] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
if (!file) {
  console.error("usage: node scripts/cpu-profile.mjs FILE.cpuprofile [FROM_S TO_S] [--timeline]");
  process.exit(2);
}
const from = Number(fromArg ?? 0);
const to = Number(toArg ?? Infinity);
const profile = JSON.parse(fs.readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber + 1}`;
const idle = (n) => n.callFrame.functionName === "(idle)" || n.callFrame.functionName === "(program)";

const self = new Map();
const inclusive = new Map();
const seconds = [];
let t = 0;
let busy = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i];
  t += dt;
  const s = t / 1e6;
  const node = byId.get(id);
  const second = (seconds[Math.floor(s)] ??= { busy: 0, all: 0 });
  second.all += dt;
  if (idle(node)) return;
  second.busy += dt;
  if (s < from || s > to) return;
  busy += dt;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const l = label(byId.get(at));
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
});

if (process.argv.includes("--timeline")) {
  console.log("busy % by second: " + seconds.map((x, i) => `${i}:${x ? Math.round((100 * x.busy) / x.all) : 0}`).join(" "));
}
const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)}  ${k}`);
console.log(`busy ms in the window: ${Math.round(busy / 1000)}`);
console.log("self:\n" + top(self, 25).join("\n"));
console.log("inclusive:\n" + top(inclusive, 40).join("\n"));
