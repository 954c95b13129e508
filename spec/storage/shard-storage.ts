// What the segment-store tests set up on a real nats-server: one shard's WAL
// stream holding six delete records, a meta bucket and a segments bucket —
// the storage a shard owner opens, without any actor around it.
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema } from "../../protocol/schema.js";
import { MetaStore } from "../../storage/meta-store.js";
import { BlobStore } from "../../storage/object-store.js";
import { createWalStream, ShardWal } from "../../storage/wal.js";
import type { TestEnv } from "../harness.js";

export const SCHEMA: CollectionSchema = {
  enable_dynamic_field: false,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "v", type: "FloatVector", dim: 2 },
  ],
};

export const rows = (ids: number[]): Row[] => ids.map((id) => ({ id, v: Float32Array.from([id, -id]), $partition: "_default" }));

export interface ShardStorage {
  jsm: JetStreamManager;
  /** The WAL stream's name. */
  stream: string;
  wal: ShardWal;
  meta: MetaStore;
  blobs: BlobStore;
}

export async function openShardStorage(env: TestEnv, cid: number): Promise<ShardStorage> {
  const nc = env.admin;
  const jsm = await jetstreamManager(nc);
  const loc = { stream: `T_WAL_${cid}_0`, subject: `t.wal.${cid}.0` };
  await createWalStream(jsm, loc);
  const wal = await ShardWal.open(jetstream(nc), jsm, loc);
  for (let i = 1; i <= 6; i++) await wal.append({ kind: "delete", ts: BigInt(i), epoch: 1, ids: [i] });
  const meta = new MetaStore(await new Kvm(nc).create("t_meta", { history: 5 }));
  const blobs = await BlobStore.open(nc, "t_segments");
  return { jsm, stream: loc.stream, wal, meta, blobs };
}
