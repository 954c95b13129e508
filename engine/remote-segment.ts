// A sealed segment as its shard owner keeps it once a query node serves it:
// its keys (to route deletes and replacements, and to log them at flush) and
// its partition labels (drop_partition needs no round trip), but none of its
// rows. `nodes` are the query nodes that have a copy loaded (one per
// replica); each read of the segment goes to one of them, carrying the dead
// slots as of the read.
import type { PrimaryKey } from "../protocol/rows.js";
import type { SegmentHead } from "./segment-format.js";
import type { SegmentKeys } from "./segment-keys.js";
import type { SealedSegment } from "./sealed-segment.js";

/** What a shard holds of a sealed segment: all of it, or only its keys while a query node serves it. */
export type SealedForm = SealedSegment | RemoteSegment;

export class RemoteSegment {
  /** Sorted alike in every segment: a read that takes the n-th copy of each then asks as few nodes as it can. */
  nodes: string[] = [];

  constructor(
    readonly head: SegmentHead,
    readonly keys: SegmentKeys,
    private readonly partitions: unknown[],
    nodes: string[],
  ) {
    this.serveFrom(nodes);
  }

  serveFrom(nodes: string[]): void {
    this.nodes = [...nodes].sort();
  }

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
