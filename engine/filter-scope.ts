// A read's scope compiled once per request: its filter in every form a
// segment may run it in, and its partitions as a set.
import { parseFilter, type Expr } from "../protocol/filter/index.js";
import type { CollectionSchema } from "../protocol/schema.js";
import { compileBits, compileIndexSlots, type BitsFn, type SlotsFn } from "./filter-bits.js";
import { compileFilter, compileWith, type FieldReader, type RowPredicate } from "./filter-eval.js";
import type { Scope } from "./segment.js";

/**
 * A filter's compiled forms: over row maps (growing segments); over slots,
 * read through a sealed segment's FieldReader; for the forms it covers,
 * column by column into a bitset; and, for one test on a field with a
 * scalar index, as the index's list of the matches.
 */
export interface CompiledFilter {
  row: RowPredicate;
  slots(read: FieldReader<number>): (slot: number) => boolean;
  bits?: BitsFn;
  indexSlots?: SlotsFn;
}

/** Every form of a filter; type errors surface here, once. `indexed`: fields with a scalar index (declared, or the clustering key), which the bitset form may use. */
export function compileFilterForms(expr: Expr, schema: CollectionSchema, indexed?: ReadonlySet<string>): CompiledFilter {
  return {
    row: compileFilter(expr, schema),
    slots: (read) => compileWith(expr, schema, read),
    bits: compileBits(expr, schema, indexed),
    indexSlots: compileIndexSlots(expr, schema, indexed),
  };
}

/** The rows a read may see: its filter compiled, and its partitions as a set. */
export function compileScope(schema: CollectionSchema, scope: { filter?: string; partition_names?: string[] }, indexed?: ReadonlySet<string>): Scope {
  return {
    filter: scope.filter ? compileFilterForms(parseFilter(scope.filter), schema, indexed) : undefined,
    partitions: scope.partition_names ? new Set(scope.partition_names) : undefined,
  };
}
