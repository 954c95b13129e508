// A sealed segment as its shard owner keeps it once a query node serves it:
// its keys (to route deletes and replacements, and to log them at flush) and
// its partition labels (drop_partition needs no round trip), but none of its
// rows. `node` is the query node that has it loaded; reads of the segment go
// there, carrying the dead slots as of the read.
import type { PrimaryKey } from "../protocol/rows.js";
import type { SegmentHead } from "./segment-format.js";
import type { SegmentKeys } from "./segment-keys.js";
import type { SealedSegment } from "./sealed-segment.js";

/** What a shard holds of a sealed segment: all of it, or only its keys while a query node serves it. */
export type SealedForm = SealedSegment | RemoteSegment;

export class RemoteSegment {
  constructor(
    readonly head: SegmentHead,
    readonly keys: SegmentKeys,
    private readonly partitions: unknown[],
    public node: string,
  ) {}

  get rowCount(): number {
    return this.keys.liveCount;
  }

  delete(ids: PrimaryKey[]): number {
    return this.keys.delete(ids);
  }

  partitionAt(slot: number): string {
    return this.partitions[slot] as string;
  }

  /** Live keys in the given partitions. */
  idsIn(partitions: ReadonlySet<string>): PrimaryKey[] {
    const out: PrimaryKey[] = [];
    this.partitions.forEach((p, slot) => {
      if (this.keys.isLive(slot) && partitions.has(p as string)) out.push(this.keys.pks[slot]);
    });
    return out;
  }
}
