// Builders for hand-written filter trees and the exact-error assertion the
// lexer, parser and printer tests share: the expected trees and messages are
// typed out in the tests, never produced by the code under test.
import assert from "node:assert/strict";
import { VecbusError } from "../../protocol/errors.js";
import type { ArithOp, CompareOp, Expr, LiteralValue, PathKey } from "../../protocol/filter/index.js";

export const f = (name: string, ...path: PathKey[]): Expr => ({ kind: "field", name, path });
export const lit = (value: LiteralValue): Expr => ({ kind: "literal", value });
export const cmp = (op: CompareOp, left: Expr, right: Expr): Expr => ({ kind: "compare", op, left, right });
export const and = (left: Expr, right: Expr): Expr => ({ kind: "logical", op: "and", left, right });
export const or = (left: Expr, right: Expr): Expr => ({ kind: "logical", op: "or", left, right });
export const not = (operand: Expr): Expr => ({ kind: "not", operand });
export const neg = (operand: Expr): Expr => ({ kind: "neg", operand });
export const arith = (op: ArithOp, left: Expr, right: Expr): Expr => ({ kind: "arith", op, left, right });

/** Asserts that `run` fails with FILTER_SYNTAX and exactly this message (position included). */
export function filterSyntaxError(run: () => unknown, label: string, position: number, message: string): void {
  assert.throws(
    run,
    (err: unknown) => {
      assert.ok(err instanceof VecbusError, `expected VecbusError, got ${String(err)}`);
      assert.equal(err.code, "FILTER_SYNTAX");
      assert.equal(err.message, `filter syntax error at position ${position}: ${message}`);
      return true;
    },
    label,
  );
}
