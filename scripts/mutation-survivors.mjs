// Reads Stryker's JSON report(s) and prints the score per file and every
// mutant that no test killed (survived or not covered), as file:line, mutator
// and the replacement (with the original line), so the weak spots of a test can be found without the
// HTML report. Usage: node scripts/mutation-survivors.mjs [report.json ...]
import fs from "node:fs";

const reports = process.argv.slice(2);
if (reports.length === 0) reports.push("reports/mutation/mutation.json");

const DETECTED = new Set(["Killed", "Timeout"]);
const UNDETECTED = new Set(["Survived", "NoCoverage"]);
const files = new Map();
for (const report of reports) {
  for (const [file, { mutants, source }] of Object.entries(JSON.parse(fs.readFileSync(report, "utf8")).files)) {
    files.set(file, { mutants, source });
  }
}

const oneLine = (s) => s.replace(/\s+/g, " ").slice(0, 100);
console.log("| file | mutants | killed | timeout | survived | no coverage | errors | score % |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const all = { n: 0, killed: 0, timeout: 0, survived: 0, nocov: 0, errors: 0 };
for (const [file, { mutants }] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  const count = (s) => mutants.filter((m) => m.status === s).length;
  const row = { n: mutants.length, killed: count("Killed"), timeout: count("Timeout"), survived: count("Survived"), nocov: count("NoCoverage"), errors: mutants.filter((m) => !DETECTED.has(m.status) && !UNDETECTED.has(m.status)).length };
  for (const k of Object.keys(all)) all[k] += row[k];
  const valid = row.killed + row.timeout + row.survived + row.nocov;
  console.log(`| ${file} | ${row.n} | ${row.killed} | ${row.timeout} | ${row.survived} | ${row.nocov} | ${row.errors} | ${valid ? ((100 * (row.killed + row.timeout)) / valid).toFixed(2) : "-"} |`);
}
const valid = all.killed + all.timeout + all.survived + all.nocov;
console.log(`| total | ${all.n} | ${all.killed} | ${all.timeout} | ${all.survived} | ${all.nocov} | ${all.errors} | ${valid ? ((100 * (all.killed + all.timeout)) / valid).toFixed(2) : "-"} |`);

for (const [file, { mutants, source }] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  const left = mutants.filter((m) => UNDETECTED.has(m.status)).sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column);
  if (left.length === 0) continue;
  console.log(`\n${file}: ${left.length} not killed`);
  // The source as mutated, which may differ from the file on disk by now.
  const lines = source.split("\n");
  for (const m of left) {
    const { line, column } = m.location.start;
    const was = lines[line - 1]?.trim() ?? "";
    console.log(`  ${file}:${line}:${column} ${m.mutatorName}${m.status === "NoCoverage" ? " (no coverage)" : ""}: -> ${oneLine(m.replacement ?? "")}   [line: ${oneLine(was)}]`);
  }
}
