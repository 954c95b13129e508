import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tokenize, type Token } from "../../protocol/filter/lexer.js";
import { filterSyntaxError } from "./filter-trees.js";

/** Asserts that tokenizing `src` fails with exactly this message (position included). */
const lexError = (src: string, position: number, message: string): void => filterSyntaxError(() => tokenize(src), src, position, message);

const eof = (pos: number): Token => ({ type: "eof", value: null, pos, text: "" });

/** The value of the only string token in `src`. */
const stringValue = (src: string): string => {
  const [t, end] = tokenize(src);
  assert.equal(t.type, "string");
  assert.equal(end.type, "eof");
  return t.value as string;
};

describe("filter lexer: tokens", () => {
  it("tokens - every token carries its type, value, 1-based position and source text, ending with an empty eof", () => {
    assert.deepEqual(tokenize("z_Z9 == 0 and Z < 9"), [
      { type: "ident", value: "z_Z9", pos: 1, text: "z_Z9" },
      { type: "punct", value: "==", pos: 6, text: "==" },
      { type: "number", value: 0, pos: 9, text: "0" },
      { type: "keyword", value: "and", pos: 11, text: "and" },
      { type: "ident", value: "Z", pos: 15, text: "Z" },
      { type: "punct", value: "<", pos: 17, text: "<" },
      { type: "number", value: 9, pos: 19, text: "9" },
      eof(20),
    ]);
    assert.deepEqual(tokenize(""), [eof(1)]);
    assert.deepEqual(tokenize(`x IN ['a', 0x1F] or $meta`), [
      { type: "ident", value: "x", pos: 1, text: "x" },
      { type: "keyword", value: "in", pos: 3, text: "IN" },
      { type: "punct", value: "[", pos: 6, text: "[" },
      { type: "string", value: "a", pos: 7, text: "'a'" },
      { type: "punct", value: ",", pos: 10, text: "," },
      { type: "number", value: 31, pos: 12, text: "0x1F" },
      { type: "punct", value: "]", pos: 16, text: "]" },
      { type: "keyword", value: "or", pos: 18, text: "or" },
      { type: "ident", value: "$meta", pos: 21, text: "$meta" },
      eof(26),
    ]);
  });

  it("whitespace - space, tab, newline and carriage return all separate tokens", () => {
    assert.deepEqual(tokenize("a\t==\n1\r"), [
      { type: "ident", value: "a", pos: 1, text: "a" },
      { type: "punct", value: "==", pos: 3, text: "==" },
      { type: "number", value: 1, pos: 6, text: "1" },
      eof(8),
    ]);
    assert.deepEqual(tokenize("{\tn\r\n}"), [{ type: "template", value: "n", pos: 1, text: "{\tn\r\n}" }, eof(7)]);
  });

  it("templates - a name between braces, spaces allowed around it", () => {
    assert.deepEqual(tokenize("{ min_2 }"), [{ type: "template", value: "min_2", pos: 1, text: "{ min_2 }" }, eof(10)]);
  });
});

describe("filter lexer: numbers", () => {
  it("radix literals - the prefix letter may be either case", () => {
    const values = (src: string): unknown[] => tokenize(src).filter((t) => t.type === "number").map((t) => t.value);
    assert.deepEqual(values("0XFF 0xff 0O17 0B1 0b10"), [255, 255, 15, 1, 2]);
  });

  it("radix literals - missing digits name the base and show what follows", () => {
    lexError("x == 0o", 8, 'expected octal digits after "0o", found end of input');
    lexError("x == 0b2", 8, 'expected binary digits after "0b", found "2"');
    lexError("x == 0xg", 8, 'expected hex digits after "0x", found "g"');
    lexError("x == 0X", 8, 'expected hex digits after "0X", found end of input');
  });

  it("trailing text - a number glued to letters, dots or a radix letter is one bad literal", () => {
    lexError("a == 1.5.2", 6, 'expected a number, found "1.5.2"');
    lexError("a == 1x2", 6, 'expected a number, found "1x2"');
    lexError("a == 12ab.c", 6, 'expected a number, found "12ab.c"');
    lexError("a == 0x1g", 6, 'expected a number, found "0x1g"');
  });

  it("exponents - missing exponent digits show the literal so far and what follows", () => {
    lexError("a == 1e", 8, 'expected exponent digits in "1e", found end of input');
    lexError("a == 1e+x", 9, 'expected exponent digits in "1e+", found "x"');
  });

  it("leading zero - makes the literal octal and rejects 8 and 9", () => {
    assert.deepEqual(tokenize("010")[0], { type: "number", value: 8, pos: 1, text: "010" });
    lexError("a == 09", 7, 'expected an octal digit (0-7) in "09", found "9"');
  });
});

describe("filter lexer: strings", () => {
  it("escapes - every simple escape maps to its character", () => {
    assert.equal(stringValue(String.raw`"\b\f\v\0\/\\\'\"\n\t\r"`), String.fromCharCode(8, 12, 11, 0, 47, 92, 39, 34, 10, 9, 13));
  });

  it("escapes - \\u takes exactly four hex digits, later digits are plain text", () => {
    assert.equal(stringValue(String.raw`'\u00e9f\u0041'`), "\u00e9fA");
    lexError(String.raw`a == "\u12"`, 7, String.raw`expected 4 hex digits after "\u", found "12\""`);
  });

  it("unterminated - a string or escape cut off by the end of input points at its opening quote", () => {
    lexError(`a == "abc`, 6, 'expected a closing " for the string starting here, found end of input');
    lexError(`a == 'ab\\`, 6, "expected a closing ' for the string starting here, found end of input");
  });
});

describe("filter lexer: errors", () => {
  it("templates - an empty name or a missing brace is reported with what was found", () => {
    lexError("a == {1a}", 7, 'expected a template name in the template starting at position 6, found "1"');
    lexError("a == {", 7, "expected a template name in the template starting at position 6, found end of input");
    lexError("a == {n", 8, 'expected "}" in the template starting at position 6, found end of input');
    lexError("a == { n x}", 10, 'expected "}" in the template starting at position 6, found "x"');
  });

  it("operators - a single = & | asks for the doubled form, anything else is unknown", () => {
    lexError("a = 5", 3, 'expected "==", found "="');
    lexError("a & b", 3, 'expected "&&", found "&"');
    lexError("a | b", 3, 'expected "||", found "|"');
    lexError("x # 1", 3, 'expected a field, value or operator, found "#"');
  });

  it("$ - only $meta may start with a dollar", () => {
    lexError("$foo == 1", 1, 'expected a field name or "$meta", found "$foo"');
  });
});
