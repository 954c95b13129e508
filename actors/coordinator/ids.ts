// Primary key ids for auto_id collections: ranges from a counter in meta.
import { VecbusError } from "../../protocol/errors.js";
import { type CoordinatorMsg } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import type { CoordinatorState } from "./state.js";

export async function onAllocateIds(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "allocate_ids" }>): Promise<{ start: number }> {
  if (!Number.isInteger(m.count) || m.count < 1) throw new VecbusError("INVALID_ARGUMENT", "allocate_ids needs a positive count");
  return onAllocate(co, "row_id", m.count);
}

export async function onAllocate(co: CoordinatorState, counter: string, count: number): Promise<{ start: number }> {
  let start = 0;
  await co.ctx.meta.casUpdate<{ next: number }>(MetaKey.counter(counter), (cur) => {
    start = cur?.next ?? 1;
    return { next: start + count };
  });
  return { start };
}
