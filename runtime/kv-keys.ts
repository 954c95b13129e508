// The keys of a KV bucket matching a filter, in one JetStream request: the
// stream's per-subject counts (stream info with subjects_filter, nats-server
// 2.9) instead of @nats-io/kv's keys(), which creates a push consumer per call
// — a consumer create and delete on the server each time — and whose iteration
// waits without a deadline: a proxy's get_load_state once hung on it for the
// client's whole 120 s timeout while a query node blocked the event loop.
// Deleted keys are listed too (their markers are messages): readers skip them.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";

/** What @nats-io/kv's Bucket carries besides the KV interface. */
interface BucketParts {
  jsm: JetStreamManager;
  stream: string;
  prefix: string;
}

export async function kvKeys(kv: KV, filter: string): Promise<string[]> {
  const { jsm, stream, prefix } = kv as unknown as BucketParts;
  const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}.${filter}` });
  return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length + 1));
}
