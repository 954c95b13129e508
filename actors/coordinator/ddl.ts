// The coordinator's DDL: collections (create, drop, rename), partitions and
// aliases. Every change is a compare-and-set on meta; a collection key exists
// only once all its WAL streams exist.
import type { CollectionMeta } from "../../protocol/collection.js";
import { shardOwner } from "../context.js";
import { VecbusError } from "../../protocol/errors.js";
import { type AliasMeta, type CoordinatorMsg, type ShardAssignment } from "../../protocol/messages.js";
import { PARTITIONS_MAX, unknownPartition } from "../../protocol/partitions.js";
import { MetaKey } from "../../protocol/subjects.js";
import { liveNodes } from "../../runtime/session.js";
import { createWalStream } from "../../storage/wal.js";
import { deleteSegments, deleteStreams } from "./gc.js";
import { onAllocate } from "./ids.js";
import { assignShards, waitShardsReady } from "./shards.js";
import type { CoordinatorState } from "./state.js";

export async function onCreateCollection(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "create_collection" }>): Promise<CollectionMeta> {
  const key = MetaKey.collection(m.name);
  await assertNameFree(co, m.name);
  if ((await liveNodes(co.ctx.sessions, "streaming")).length === 0) {
    throw new VecbusError("UNAVAILABLE", "no streaming node is running; start one with `vecbus start streaming`");
  }
  const { start: id } = await onAllocate(co, "collection_id", 1);
  const meta: CollectionMeta = {
    id,
    name: m.name,
    schema: m.schema,
    num_shards: m.num_shards,
    metric_type: m.metric_type,
    created_at: Date.now(),
    partitions: m.partitions,
    consistency_level: m.consistency_level,
  };
  for (let s = 0; s < meta.num_shards; s++) {
    await createWalStream(co.ctx.jsm, { stream: co.ctx.names.walStream(id, s), subject: co.ctx.names.walSubject(id, s) });
  }
  try {
    await co.ctx.meta.create(key, meta);
  } catch (e) {
    await deleteStreams(co, meta);
    if (e instanceof VecbusError && e.code === "CONFLICT") {
      throw new VecbusError("COLLECTION_ALREADY_EXISTS", `collection "${m.name}" already exists; drop it first or pick another name`);
    }
    throw e;
  }
  await assignShards(co, meta);
  // The collection exists from here on: a slow shard start is not a failed create (the proxy waits for shards).
  await waitShardsReady(co, meta).catch((e) => co.ctx.log.warn("shards are slow to start", { name: m.name, error: String(e) }));
  co.ctx.log.info("created collection", { name: m.name, id, shards: m.num_shards });
  return meta;
}

export async function onDropCollection(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "drop_collection" }>): Promise<{ dropped: boolean }> {
  const cur = await co.ctx.meta.get<CollectionMeta>(MetaKey.collection(m.name));
  if (!cur) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${m.name}" does not exist`);
  const aliases = await aliasesOf(co, m.name);
  if (aliases.length > 0) {
    throw new VecbusError("INVALID_ARGUMENT", `collection "${m.name}" still has aliases (${aliases.join(", ")}); drop them first with drop_alias`);
  }
  await co.ctx.meta.delete(MetaKey.collection(m.name), cur.revision);
  for (let s = 0; s < cur.value.num_shards; s++) {
    await co.ctx.meta.delete(MetaKey.shard(cur.value.id, s)).catch(() => undefined);
  }
  await deleteStreams(co, cur.value);
  await co.ctx.meta.delete(MetaKey.placement(cur.value.id)).catch(() => undefined);
  await deleteSegments(co, cur.value.id);
  co.ctx.log.info("dropped collection", { name: m.name, id: cur.value.id });
  return { dropped: true };
}

/** The new key is written before the old one goes, so a crash in between leaves both names, never neither. */
export async function onRenameCollection(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "rename_collection" }>): Promise<CollectionMeta> {
  const cur = await co.ctx.meta.get<CollectionMeta>(MetaKey.collection(m.old_name));
  if (!cur) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${m.old_name}" does not exist`);
  await assertNameFree(co, m.new_name);
  const renamed: CollectionMeta = { ...cur.value, name: m.new_name };
  await co.ctx.meta.create(MetaKey.collection(m.new_name), renamed);
  // Shard keys and aliases move while both names exist, so a crash here leaves nothing pointing at a missing name.
  for (let s = 0; s < renamed.num_shards; s++) {
    await co.ctx.meta.casUpdate<ShardAssignment>(MetaKey.shard(renamed.id, s), (a) => (a ? { ...a, collection_name: m.new_name } : undefined));
  }
  for (const alias of await aliasesOf(co, m.old_name)) {
    await co.ctx.meta.casUpdate<AliasMeta>(MetaKey.alias(alias), (a) => (a ? { ...a, collection_name: m.new_name } : undefined));
  }
  await co.ctx.meta.delete(MetaKey.collection(m.old_name), cur.revision);
  co.ctx.log.info("renamed collection", { from: m.old_name, to: m.new_name });
  return renamed;
}

export async function onCreatePartition(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "create_partition" }>): Promise<CollectionMeta> {
  return updateCollection(co, m.collection_name, (c) => {
    if (c.partitions.includes(m.partition_name)) {
      throw new VecbusError("PARTITION_ALREADY_EXISTS", `partition "${m.partition_name}" already exists in "${c.name}"`);
    }
    if (c.partitions.length >= PARTITIONS_MAX) {
      throw new VecbusError("INVALID_ARGUMENT", `a collection has at most ${PARTITIONS_MAX} partitions`);
    }
    return { ...c, partitions: [...c.partitions, m.partition_name] };
  });
}

/** Meta first, so no new row can enter the partition; then every shard deletes its rows through the WAL. */
export async function onDropPartition(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "drop_partition" }>): Promise<CollectionMeta> {
  const meta = await updateCollection(co, m.collection_name, (c) => {
    if (!c.partitions.includes(m.partition_name)) throw unknownPartition(c.name, m.partition_name);
    return { ...c, partitions: c.partitions.filter((p) => p !== m.partition_name) };
  });
  // Reads only ever look at the partitions in meta, so rows left behind by a shard that misses this stay invisible.
  const results = await Promise.allSettled(
    Array.from({ length: meta.num_shards }, (_, s) =>
      shardOwner(co.ctx, meta.id, s).then((owner) => owner.ask({ kind: "drop_partition", partition_name: m.partition_name })),
    ),
  );
  const failed = results.filter((r) => r.status === "rejected").length;
  if (failed > 0) co.ctx.log.warn("some shards kept rows of a dropped partition", { collection: meta.name, partition: m.partition_name, failed });
  return meta;
}

export async function updateCollection(co: CoordinatorState, name: string, fn: (c: CollectionMeta) => CollectionMeta): Promise<CollectionMeta> {
  const next = await co.ctx.meta.casUpdate<CollectionMeta>(MetaKey.collection(name), (c) => {
    if (!c) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${name}" does not exist`);
    return fn(c);
  });
  return next!;
}

export async function onCreateAlias(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "create_alias" }>): Promise<AliasMeta> {
  await assertCollection(co, m.collection_name);
  if (await co.ctx.meta.get(MetaKey.collection(m.alias))) {
    throw new VecbusError("ALIAS_ALREADY_EXISTS", `"${m.alias}" is already a collection name; an alias needs a name of its own`);
  }
  const alias: AliasMeta = { alias: m.alias, collection_name: m.collection_name };
  try {
    await co.ctx.meta.create(MetaKey.alias(m.alias), alias);
  } catch (e) {
    if (e instanceof VecbusError && e.code === "CONFLICT") {
      throw new VecbusError("ALIAS_ALREADY_EXISTS", `alias "${m.alias}" already exists; use alter_alias to point it elsewhere`);
    }
    throw e;
  }
  return alias;
}

export async function onAlterAlias(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "alter_alias" }>): Promise<AliasMeta> {
  await assertCollection(co, m.collection_name);
  const next = await co.ctx.meta.casUpdate<AliasMeta>(MetaKey.alias(m.alias), (a) => {
    if (!a) throw new VecbusError("ALIAS_NOT_FOUND", `alias "${m.alias}" does not exist; create it with create_alias`);
    return { ...a, collection_name: m.collection_name };
  });
  return next!;
}

export async function onDropAlias(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "drop_alias" }>): Promise<{ dropped: boolean }> {
  const cur = await co.ctx.meta.get<AliasMeta>(MetaKey.alias(m.alias));
  if (!cur) throw new VecbusError("ALIAS_NOT_FOUND", `alias "${m.alias}" does not exist`);
  await co.ctx.meta.delete(MetaKey.alias(m.alias), cur.revision);
  return { dropped: true };
}

export async function assertCollection(co: CoordinatorState, name: string): Promise<void> {
  if (!(await co.ctx.meta.get(MetaKey.collection(name)))) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${name}" does not exist`);
}

/** Collections and aliases share one namespace, as in Milvus. */
export async function assertNameFree(co: CoordinatorState, name: string): Promise<void> {
  if (await co.ctx.meta.get(MetaKey.collection(name))) {
    throw new VecbusError("COLLECTION_ALREADY_EXISTS", `collection "${name}" already exists; drop it first or pick another name`);
  }
  if (await co.ctx.meta.get(MetaKey.alias(name))) {
    throw new VecbusError("COLLECTION_ALREADY_EXISTS", `"${name}" is an alias; drop the alias first or pick another name`);
  }
}

export async function aliasesOf(co: CoordinatorState, collection: string): Promise<string[]> {
  const all = await co.ctx.meta.list<AliasMeta>(MetaKey.aliasesPrefix);
  return [...all.values()].filter((a) => a.value.collection_name === collection).map((a) => a.value.alias);
}
