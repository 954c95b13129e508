// JSON in and out (the CLI, the Milvus gateway) with Int64 values exact. JSON numbers have no
// size limit, but JSON.parse reads them as doubles, which round integers
// beyond 2^53 (a Milvus auto id like 450072488481390592 among them), and
// JSON.stringify refuses bigints. Here such integers become bigints on the
// way in and bare digits on the way out.
import { randomBytes } from "node:crypto";
import { int64Of } from "../protocol/schema.js";

/** Integers of this many digits or more may be beyond 2^53 (9007199254740992 has 16). */
const LONG_INTEGER = /^-?\d{16,}$/;

/** JSON.parse, except that integers beyond ±2^53 come back as bigint. */
export function parseJson(text: string): unknown {
  const tag = `${randomBytes(8).toString("hex")}:`;
  let out = "";
  let from = 0;
  // Outside strings, each long integer literal becomes a tagged string the reviver turns back into a bigint.
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      continue;
    }
    if (c !== "-" && (c < "0" || c > "9")) continue;
    let j = i + 1;
    while (j < text.length && /[0-9.eE+-]/.test(text[j])) j++;
    const literal = text.slice(i, j);
    if (LONG_INTEGER.test(literal)) {
      out += `${text.slice(from, i)}"${tag}${literal}"`;
      from = j;
    }
    i = j - 1;
  }
  out += text.slice(from);
  return JSON.parse(out, (_key, v: unknown) => {
    if (typeof v !== "string" || !v.startsWith(tag)) return v;
    const digits = v.slice(tag.length);
    // The form vecbus keeps an Int64 in; beyond int64 a double, as JSON.parse reads it (no field holds it exactly).
    return int64Of(BigInt(digits)) ?? Number(digits);
  });
}

/** JSON.stringify, with bigints as bare digits and typed arrays as lists. */
export function jsonText(value: unknown, indent?: number): string {
  const tag = `${randomBytes(8).toString("hex")}:`;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === "bigint") return `${tag}${v}`;
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    },
    indent,
  );
  return text === undefined ? "" : text.replaceAll(new RegExp(`"${tag}(-?\\d+)"`, "g"), "$1");
}
