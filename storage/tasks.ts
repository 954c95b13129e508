// The tasks work queue: one JetStream stream with workqueue retention, so a
// task is removed once a data node acks it. Publishes carry a msgID
// (protocol/indexes.ts taskMsgId): a task queued twice within the duplicate
// window is stored once. A task must still be harmless to run twice (the
// window ends, a data node dies after its commit and before its ack).
import { AckPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { stamped } from "../protocol/data-format.js";
import { taskMsgId, type Task } from "../protocol/indexes.js";
import { limit, limitText } from "../protocol/limits.js";
import type { Names } from "../protocol/subjects.js";
import { encode } from "../runtime/codec.js";
import { asConfigured, storeFullError, streamBound } from "./stream-bounds.js";

/** JetStream's "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

/** Tasks queued again within this window collapse into one. */
export const TASK_DUPLICATE_WINDOW_MS = 10 * 60_000;

/** Idempotent: any process that publishes or consumes tasks calls it first. */
export async function ensureTaskStream(jsm: JetStreamManager, names: Names): Promise<void> {
  const config = {
    name: names.taskStream(),
    subjects: [names.taskWildcard()],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: limit("replicas"),
    duplicate_window: TASK_DUPLICATE_WINDOW_MS * 1e6,
    ...streamBound("taskBytes"),
  };
  try {
    await jsm.streams.add(config);
  } catch (e) {
    // A stream made by an earlier release (no bound) has another config: give it the bound.
    if (e instanceof JetStreamApiError && e.code === STREAM_NAME_IN_USE) await asConfigured(jsm, await jsm.streams.info(config.name), streamBound("taskBytes"));
    else throw storeFullError(e, "the NATS server's JetStream store", "give the server more storage") ?? e;
  }
}

/** Resolves true when the task was queued, false when the duplicate window collapsed it into an earlier one. */
export async function publishTask(js: JetStreamClient, names: Names, task: Task, msgID = taskMsgId(task)): Promise<boolean> {
  try {
    const ack = await js.publish(names.taskSubject(task.kind, task.collection_id, task.shard), encode(stamped(task)), { msgID });
    return !ack.duplicate;
  } catch (e) {
    throw storeFullError(e, `the task queue ${names.taskStream()}`, `data nodes empty it as they work: check they run (vecbus status), or raise the bound (${limitText("taskBytes")})`) ?? e;
  }
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
