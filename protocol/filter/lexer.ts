import { VecbusError } from "../errors.js";
import { int64Of } from "../schema.js";

const KEYWORDS = ["and", "or", "not", "in", "like", "is", "null", "true", "false", "exists"] as const;
export type Keyword = (typeof KEYWORDS)[number];

const PUNCTUATION = [
  "==", "!=", "<=", ">=", "**", "&&", "||",
  "<", ">", "+", "-", "*", "/", "%", "!", "(", ")", "[", "]", ",",
] as const;
export type Punct = (typeof PUNCTUATION)[number];

interface TokenBase {
  /** 1-based offset of the token's first character. */
  pos: number;
  /** The source text of the token, for error messages. */
  text: string;
}

export type Token =
  | (TokenBase & { type: "number"; value: number | bigint })
  | (TokenBase & { type: "string"; value: string })
  | (TokenBase & { type: "ident"; value: string })
  | (TokenBase & { type: "keyword"; value: Keyword })
  | (TokenBase & { type: "template"; value: string })
  | (TokenBase & { type: "punct"; value: Punct })
  | (TokenBase & { type: "eof"; value: null });

export function syntaxError(pos: number, message: string): VecbusError {
  return new VecbusError("FILTER_SYNTAX", `filter syntax error at position ${pos}: ${message}`);
}

export function describeToken(t: Token): string {
  return t.type === "eof" ? "end of input" : JSON.stringify(t.text);
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isIdentStart = (c: string | undefined): boolean =>
  c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_");
const isIdentPart = (c: string | undefined): boolean => isIdentStart(c) || isDigit(c);
const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\n" || c === "\r";

const RADIX_DIGITS: Record<string, { name: string; re: RegExp }> = {
  x: { name: "hex", re: /[0-9a-fA-F]/ },
  o: { name: "octal", re: /[0-7]/ },
  b: { name: "binary", re: /[01]/ },
};

const SIMPLE_ESCAPES: Record<string, string> = {
  n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "0": "\0",
  "\\": "\\", "'": "'", '"': '"', "/": "/",
};

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;

  // Integers beyond 2^53 keep their exact value so Int64 comparisons stay exact (in the form Int64 values are kept in).
  const integer = (digits: bigint): number | bigint => int64Of(digits) ?? digits;

  const rejectTrailing = (start: number): void => {
    if (!isIdentPart(src[i]) && src[i] !== ".") return;
    let end = i;
    while (isIdentPart(src[end]) || src[end] === ".") end++;
    throw syntaxError(start + 1, `expected a number, found ${JSON.stringify(src.slice(start, end))}`);
  };

  const readNumber = (start: number): number | bigint => {
    const radix = src[i] === "0" ? RADIX_DIGITS[src[i + 1]?.toLowerCase() ?? ""] : undefined;
    if (radix) {
      i += 2;
      const digitsStart = i;
      while (i < src.length && radix.re.test(src[i])) i++;
      if (i === digitsStart) {
        const found = i < src.length ? JSON.stringify(src[i]) : "end of input";
        throw syntaxError(i + 1, `expected ${radix.name} digits after ${JSON.stringify(src.slice(start, i))}, found ${found}`);
      }
      rejectTrailing(start);
      return integer(BigInt(src.slice(start, i).toLowerCase()));
    }
    while (isDigit(src[i])) i++;
    let isFloat = false;
    if (src[i] === ".") {
      isFloat = true;
      i++;
      while (isDigit(src[i])) i++;
    }
    if (src[i] === "e" || src[i] === "E") {
      isFloat = true;
      i++;
      if (src[i] === "+" || src[i] === "-") i++;
      if (!isDigit(src[i])) {
        const found = i < src.length ? JSON.stringify(src[i]) : "end of input";
        throw syntaxError(i + 1, `expected exponent digits in ${JSON.stringify(src.slice(start, i))}, found ${found}`);
      }
      while (isDigit(src[i])) i++;
    }
    rejectTrailing(start);
    const text = src.slice(start, i);
    if (isFloat) return Number(text);
    // Like C and Milvus, a leading zero makes the literal octal.
    if (text.length > 1 && text[0] === "0") {
      const bad = /[89]/.exec(text);
      if (bad) throw syntaxError(start + 1 + bad.index, `expected an octal digit (0-7) in ${JSON.stringify(text)}, found "${bad[0]}"`);
      return integer(BigInt("0o" + text.slice(1)));
    }
    return integer(BigInt(text));
  };

  const readString = (start: number): string => {
    const quote = src[i++];
    let out = "";
    for (;;) {
      if (i >= src.length) {
        throw syntaxError(start + 1, `expected a closing ${quote} for the string starting here, found end of input`);
      }
      const c = src[i++];
      if (c === quote) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = src[i++];
      if (e === undefined) continue; // the loop reports the missing closing quote
      if (e === "u") {
        const hex = src.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          throw syntaxError(i - 1, `expected 4 hex digits after "\\u", found ${JSON.stringify(hex)}`);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
      } else if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
        out += SIMPLE_ESCAPES[e];
      } else {
        // Unknown escapes keep their backslash: `like` patterns rely on `\%` and `\_`.
        out += "\\" + e;
      }
    }
  };

  const readTemplate = (start: number): string => {
    i++;
    while (isSpace(src[i])) i++;
    const nameStart = i;
    if (isIdentStart(src[i])) while (isIdentPart(src[i])) i++;
    const name = src.slice(nameStart, i);
    while (isSpace(src[i])) i++;
    if (name === "" || src[i] !== "}") {
      const found = i < src.length ? JSON.stringify(src[i]) : "end of input";
      throw syntaxError(i + 1, `expected ${name === "" ? "a template name" : '"}"'} in the template starting at position ${start + 1}, found ${found}`);
    }
    i++;
    return name;
  };

  while (i < src.length) {
    const c = src[i];
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    const push = (t: Omit<Token, "pos" | "text">): void => {
      tokens.push({ ...t, pos: start + 1, text: src.slice(start, i) } as Token);
    };
    if (isDigit(c) || (c === "." && isDigit(src[i + 1]))) {
      push({ type: "number", value: readNumber(start) });
    } else if (c === '"' || c === "'") {
      push({ type: "string", value: readString(start) });
    } else if (isIdentStart(c)) {
      while (isIdentPart(src[i])) i++;
      const word = src.slice(start, i);
      const lower = word.toLowerCase();
      if (KEYWORD_SET.has(lower)) push({ type: "keyword", value: lower as Keyword });
      else push({ type: "ident", value: word });
    } else if (c === "$") {
      i++;
      while (isIdentPart(src[i])) i++;
      const word = src.slice(start, i);
      if (word !== "$meta") throw syntaxError(start + 1, `expected a field name or "$meta", found ${JSON.stringify(word)}`);
      push({ type: "ident", value: word });
    } else if (c === "{") {
      push({ type: "template", value: readTemplate(start) });
    } else {
      const p = PUNCTUATION.find((op) => src.startsWith(op, i));
      if (p) {
        i += p.length;
        push({ type: "punct", value: p });
      } else if (c === "=" || c === "&" || c === "|") {
        throw syntaxError(start + 1, `expected "${c === "=" ? "==" : c + c}", found ${JSON.stringify(c)}`);
      } else {
        throw syntaxError(start + 1, `expected a field, value or operator, found ${JSON.stringify(c)}`);
      }
    }
  }
  tokens.push({ type: "eof", value: null, pos: src.length + 1, text: "" });
  return tokens;
}
