// Every NATS subject, stream, bucket and key name vecbus uses is built here and
// nowhere else, so the naming scheme can be read in one place:
//
//   <prefix>.api.v1.<method>            public API, request-reply, proxies in a queue group
//   <prefix>.int.coord                  coordinator (only the lease holder subscribes)
//   <prefix>.int.shard.<cid>.<shard>.<epoch>  the streaming node that owns a shard at that epoch
//   <prefix>.int.query.<node>           one query node (reads of its loaded segments)
//   <prefix>.int.node.<role>.<node>     pings: answered while an actor's process lives
//   <prefix>.wal.<cid>.<shard>          the subject captured by that shard's WAL stream
//   <prefix>.task.<kind>.<cid>.<shard>  tasks for data nodes (work-queue stream <prefix>_TASKS)
//
// Buckets and streams cannot contain dots, so they use `<prefix>_...`. The
// prefix is limited to letters, digits, '_' and '-' for that reason.

export const DEFAULT_PREFIX = "vecbus";
export const API_VERSION = "v1";

export function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    throw new Error(`subject prefix "${prefix}" must be 1-32 letters, digits, '_' or '-'`);
  }
  return prefix;
}

export class Names {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    checkPrefix(prefix);
  }
  apiSubject(method: string): string {
    return `${this.prefix}.api.${API_VERSION}.${method}`;
  }
  apiWildcard(): string {
    return `${this.prefix}.api.${API_VERSION}.>`;
  }
  /** The method named by a public API subject, or undefined for a foreign subject. */
  apiMethod(subject: string): string | undefined {
    const head = `${this.prefix}.api.${API_VERSION}.`;
    return subject.startsWith(head) ? subject.slice(head.length) : undefined;
  }
  coordinatorSubject(): string {
    return `${this.prefix}.int.coord`;
  }
  /** An owner that lost the shard (and may not know it yet) keeps only the old epoch's subject: requests for the new one never reach it. */
  shardSubject(collectionId: number, shard: number, epoch: number): string {
    return `${this.prefix}.int.shard.${collectionId}.${shard}.${epoch}`;
  }
  /** Where an actor answers pings while its process lives (runtime/liveness.ts). */
  nodeSubject(role: string, nodeId: string): string {
    return `${this.prefix}.int.node.${role}.${nodeId}`;
  }
  /** A shard's edge replicas at one site: that site's proxies send them Bounded and Eventually reads. */
  edgeShardSubject(site: string, collectionId: number, shard: number): string {
    return `${this.prefix}.int.edge.${site}.${collectionId}.${shard}`;
  }
  /** One query node: shard owners send it the reads of the segments it has loaded. */
  querySubject(nodeId: string): string {
    return `${this.prefix}.int.query.${nodeId}`;
  }
  walSubject(collectionId: number, shard: number): string {
    return `${this.prefix}.wal.${collectionId}.${shard}`;
  }
  walStream(collectionId: number, shard: number): string {
    return `${this.prefix}_WAL_${collectionId}_${shard}`;
  }
  metaBucket(): string {
    return `${this.prefix}_meta`;
  }
  sessionBucket(): string {
    return `${this.prefix}_sessions`;
  }
  objectBucket(): string {
    return `${this.prefix}_segments`;
  }
  /** The tasks work queue (build_index, ...): one stream, a message per task, removed once acked. */
  taskStream(): string {
    return `${this.prefix}_TASKS`;
  }
  taskWildcard(): string {
    return `${this.prefix}.task.>`;
  }
  taskSubject(kind: string, collectionId: number, shard: number): string {
    return `${this.prefix}.task.${kind}.${collectionId}.${shard}`;
  }
  /** The durable pull consumer every data node shares. */
  dataConsumer(): string {
    return `${this.prefix}-data`;
  }
  proxyQueue(): string {
    return `${this.prefix}-proxy`;
  }
}

// Keys inside the meta bucket.
export const MetaKey = {
  collection: (name: string) => `collections.${name}`,
  collectionsPrefix: "collections.>",
  alias: (name: string) => `aliases.${name}`,
  aliasesPrefix: "aliases.>",
  shard: (collectionId: number, shard: number) => `shards.${collectionId}.${shard}`,
  shardsPrefix: "shards.>",
  segments: (collectionId: number, shard: number) => `segments.${collectionId}.${shard}`,
  segmentsOf: (collectionId: number) => `segments.${collectionId}.*`,
  segmentsPrefix: "segments.>",
  /** Which query node serves each sealed segment of a collection (Placement). */
  placement: (collectionId: number) => `placement.${collectionId}`,
  placementPrefix: "placement.>",
  /** A compaction started by the `compact` API (CompactionRecord). */
  compaction: (id: number) => `compactions.${id}`,
  counter: (name: string) => `counters.${name}`,
  tso: "tso",
  /** The store's data format (DataFormat): written once, checked by every actor at start. */
  format: "format",
} as const;

// Object names inside the segment bucket. An owner names a segment by its id
// (its last WAL sequence, or a number above every sequence for a compaction's
// output) and a delete log by the segment and its first delete, so it never
// overwrites a committed object; the owner's epoch in the name keeps a stale owner's
// uploads from overwriting a newer owner's objects of the same id.
export const ObjectName = {
  segment: (collectionId: number, shard: number, segmentId: number, epoch: number) => `seg/${collectionId}/${shard}/${segmentId}-${epoch}`,
  /** A compaction's output: its id is new, so no epoch is needed to keep it apart. */
  compactedSegment: (collectionId: number, shard: number, segmentId: number) => `seg/${collectionId}/${shard}/${segmentId}-c`,
  /** A segment's deletes from its `first`-th on: an owner logs each delete of a segment once, so names never repeat within an epoch. */
  deleteLog: (collectionId: number, shard: number, segmentId: number, first: number, epoch: number) => `del/${collectionId}/${shard}/${segmentId}/${first}-${epoch}`,
  /** A segment's built index of one field; `build` is the index declaration's build number. */
  index: (collectionId: number, shard: number, segmentId: number, field: string, build: number) => `idx/${collectionId}/${shard}/${segmentId}/${field}-${build}`,
  /** Whether an object (committed or left over from an interrupted flush) belongs to a collection. */
  ofCollection: (collectionId: number, name: string) =>
    name.startsWith(`seg/${collectionId}/`) || name.startsWith(`del/${collectionId}/`) || name.startsWith(`idx/${collectionId}/`),
  /** Whether an object is a built index of a field under a given build. */
  isIndexOf: (collectionId: number, field: string, build: number, name: string) => name.startsWith(`idx/${collectionId}/`) && name.endsWith(`/${field}-${build}`),
} as const;

// Keys inside the session bucket (its TTL makes a silent actor's key vanish).
export const SessionKey = {
  node: (role: string, nodeId: string) => `nodes.${role}.${nodeId}`,
  nodesOf: (role: string) => `nodes.${role}.*`,
  allNodes: "nodes.>",
  coordinatorLease: "lease.coordinator",
} as const;
