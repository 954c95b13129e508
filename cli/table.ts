// Plain-text tables for the CLI's human output. Cells stay on one line and
// short, so a row of vectors or JSON still fits a terminal; --json is the
// way to get full values.
import { jsonText } from "../runtime/json.js";

const PREVIEW_CHARS = 40;
const VECTOR_PREVIEW = 4;

export function formatValue(v: unknown): string {
  if (v === undefined) return "";
  if (v === null) return "null";
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return oneLine(v);
  if (isNumberList(v)) return formatNumberList(v);
  return truncate(jsonText(v) || String(v));
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)));
}

function isNumberList(v: unknown): v is ArrayLike<number> {
  if (v instanceof Float32Array || v instanceof Float64Array) return true;
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number");
}

function formatNumberList(v: ArrayLike<number>): string {
  const head = Array.from(v).slice(0, v.length > VECTOR_PREVIEW ? 2 : VECTOR_PREVIEW);
  const shown = head.map((x) => String(Number(x.toFixed(2)))).join(", ");
  return v.length > VECTOR_PREVIEW ? `[${shown}, …] (${v.length})` : `[${shown}]`;
}

function oneLine(s: string): string {
  return /[\u0000-\u001f]/.test(s) ? JSON.stringify(s).slice(1, -1) : s;
}

function truncate(s: string): string {
  return s.length > PREVIEW_CHARS ? `${s.slice(0, PREVIEW_CHARS - 1)}…` : s;
}

function isNumeric(v: unknown): boolean {
  return typeof v === "number" || typeof v === "bigint";
}

/** Columns whose every value is a number are right-aligned, header included. */
export function table(headers: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => headers.map((_, i) => formatValue(r[i])));
  const numeric = headers.map((_, i) => rows.some((r) => r[i] !== undefined) && rows.every((r) => r[i] === undefined || isNumeric(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (cols: string[]) =>
    cols
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** A two-column key/value block, for headers above a table. */
export function pairs(entries: [string, unknown][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${formatValue(v)}`.trimEnd()).join("\n");
}

/** The union of the rows' keys, in order of first appearance: the columns of a table of rows. */
export function columnsOf(rows: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}
