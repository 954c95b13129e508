// Which segments of one shard to compact, and together with which. Pure, so
// the shard owner can call it after every flush and the compact API can call
// it on demand without either reading a segment.

export interface CompactionCandidate {
  segment_id: number;
  /** Rows written in the segment. */
  rows: number;
  /** How many of `rows` its delete logs mark deleted. */
  deleted: number;
}

export interface CompactionPolicy {
  /** A merged segment holds at most this many live rows (the streaming node's seal size). */
  targetRows: number;
  /** Segments with fewer live rows than this are "small": two or more of them are merged. */
  smallRows: number;
  /** A segment whose deleted/rows is at least this is rewritten without its deleted rows (alone if it is not small). */
  deletedRatio: number;
}

export const COMPACTION_DEFAULTS = (targetRows: number): CompactionPolicy => ({
  targetRows,
  smallRows: Math.floor(targetRows / 2),
  deletedRatio: 0.2,
});

/**
 * The policy for a collection whose segments seal at `rows` rows at most (its
 * byte bound over its row size, when that is below the row bound): merged
 * segments stay within the same size.
 */
export function boundedTo(policy: CompactionPolicy, rows: number): CompactionPolicy {
  if (rows >= policy.targetRows) return policy;
  const target = Math.max(1, Math.floor(rows));
  return { ...policy, targetRows: target, smallRows: Math.floor((target * policy.smallRows) / policy.targetRows) };
}

/** Groups of segment ids to compact, each group one task. `manual` (the compact API) also rewrites every segment that has any deleted row and merges all small ones it can. */
export function planCompactions(segments: CompactionCandidate[], policy: CompactionPolicy, manual = false): number[][] {
  const live = (c: CompactionCandidate) => c.rows - c.deleted;
  const dirty = (c: CompactionCandidate) => (manual ? c.deleted > 0 : c.deleted / c.rows >= policy.deletedRatio);
  // An empty segment costs no merge: the shard drops it from its segment list.
  const worthKeeping = segments.filter((c) => live(c) > 0);
  const small = worthKeeping.filter((c) => live(c) < policy.smallRows);
  const groups = worthKeeping.filter((c) => live(c) >= policy.smallRows && dirty(c)).map((c) => [c]);

  // First-fit decreasing: few groups, each close to a full segment.
  small.sort((a, b) => live(b) - live(a) || a.segment_id - b.segment_id);
  const bins: { rows: number; members: CompactionCandidate[] }[] = [];
  for (const c of small) {
    const bin = bins.find((b) => b.rows + live(c) <= policy.targetRows);
    if (bin) {
      bin.rows += live(c);
      bin.members.push(c);
    } else bins.push({ rows: live(c), members: [c] });
  }
  // A lone small segment gains nothing from a rewrite unless it sheds deleted rows.
  for (const b of bins) if (b.members.length > 1 || dirty(b.members[0])) groups.push(b.members);

  return groups.map((g) => g.map((c) => c.segment_id).sort((a, b) => a - b)).sort((a, b) => a[0] - b[0]);
}
