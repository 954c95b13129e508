// The tasks work queue: one JetStream stream with workqueue retention, so a
// task is removed once a data node acks it. Publishes carry a msgID
// (protocol/indexes.ts taskMsgId): a task queued twice within the duplicate
// window is stored once. A task must still be harmless to run twice (the
// window ends, a data node dies after its commit and before its ack).
import { AckPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { taskMsgId, type Task } from "../protocol/indexes.js";
import type { Names } from "../protocol/subjects.js";
import { encode } from "../runtime/codec.js";

/** Tasks queued again within this window collapse into one. */
export const TASK_DUPLICATE_WINDOW_MS = 10 * 60_000;

/** Idempotent: any process that publishes or consumes tasks calls it first. */
export async function ensureTaskStream(jsm: JetStreamManager, names: Names): Promise<void> {
  await jsm.streams.add({
    name: names.taskStream(),
    subjects: [names.taskWildcard()],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: 1,
    duplicate_window: TASK_DUPLICATE_WINDOW_MS * 1e6,
  });
}

/** Resolves true when the task was queued, false when the duplicate window collapsed it into an earlier one. */
export async function publishTask(js: JetStreamClient, names: Names, task: Task, msgID = taskMsgId(task)): Promise<boolean> {
  const ack = await js.publish(names.taskSubject(task.kind, task.collection_id, task.shard), encode(task), { msgID });
  return !ack.duplicate;
}

/** The durable pull consumer all data nodes share; `ackWaitMs` is how long a silent task holder keeps it. */
export async function ensureTaskConsumer(jsm: JetStreamManager, names: Names, ackWaitMs: number): Promise<void> {
  const config = { durable_name: names.dataConsumer(), ack_policy: AckPolicy.Explicit, ack_wait: ackWaitMs * 1e6, max_ack_pending: 64 };
  try {
    const info = await jsm.consumers.info(names.taskStream(), names.dataConsumer());
    if (info.config.ack_wait !== config.ack_wait) await jsm.consumers.update(names.taskStream(), names.dataConsumer(), { ack_wait: config.ack_wait });
  } catch {
    await jsm.consumers.add(names.taskStream(), config);
  }
}
