// Prints c8's json-summary as line and branch coverage per top folder
// (c8's own text-summary has only the global figures).
import fs from "node:fs";
import path from "node:path";

const [file = "coverage/report/coverage-summary.json"] = process.argv.slice(2);
const summary = JSON.parse(fs.readFileSync(file, "utf8"));
const root = process.cwd();
const folders = new Map();
const add = (name, f) => {
  const t = folders.get(name) ?? { files: 0, lines: [0, 0], branches: [0, 0], functions: [0, 0] };
  t.files += 1;
  t.lines[0] += f.lines.covered;
  t.lines[1] += f.lines.total;
  t.branches[0] += f.branches.covered;
  t.branches[1] += f.branches.total;
  t.functions[0] += f.functions.covered;
  t.functions[1] += f.functions.total;
  folders.set(name, t);
};
for (const [key, f] of Object.entries(summary)) {
  if (key === "total") continue;
  const rel = path.relative(root, key);
  add(rel.includes(path.sep) ? `${rel.split(path.sep)[0]}/` : rel, f);
}
const pct = ([covered, total]) => (total === 0 ? "100.00" : ((100 * covered) / total).toFixed(2));
const rows = [...folders].sort(([a], [b]) => a.localeCompare(b));
rows.push(["total", { files: rows.reduce((n, [, t]) => n + t.files, 0), lines: [summary.total.lines.covered, summary.total.lines.total], branches: [summary.total.branches.covered, summary.total.branches.total], functions: [summary.total.functions.covered, summary.total.functions.total] }]);
console.log("| folder | files | lines % | lines | branches % | branches | functions % |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const [name, t] of rows) {
  console.log(`| ${name} | ${t.files} | ${pct(t.lines)} | ${t.lines[0]}/${t.lines[1]} | ${pct(t.branches)} | ${t.branches[0]}/${t.branches[1]} | ${pct(t.functions)} |`);
}
