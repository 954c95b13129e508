// The bench's ceiling for ingest: the insert requests' own bytes published
// straight to a scratch JetStream stream on the same server, each acked, with
// the same batches and the same number in flight — what a write costs before
// vecbus does anything with it.
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { timed, type Timed } from "./measure.js";

/** `bodies(b)` encodes batch b's request body (the client's work, so it is timed too); no batch is larger than batch 0. */
export async function rawJetStream(nc: NatsConnection, batches: number, concurrency: number, bodies: (b: number) => { bytes: Uint8Array; rows: number }): Promise<Timed> {
  const jsm = await jetstreamManager(nc);
  const name = `vecbus_bench_raw_${process.pid}_${Date.now()}`;
  // Sized for what is published (file storage, like the WAL), so the server reserves no more than that.
  const bytes = bodies(0).bytes.byteLength * batches;
  await jsm.streams.add({ name, subjects: [name], storage: StorageType.File, max_bytes: Math.ceil(bytes * 1.2) + (1 << 20) });
  try {
    const js = jetstream(nc);
    return await timed("raw JetStream publish (baseline)", batches, concurrency, async (b) => {
      const body = bodies(b);
      await js.publish(name, body.bytes);
      return body.rows;
    });
  } finally {
    await jsm.streams.delete(name);
  }
}
