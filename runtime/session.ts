// A session key per actor in the TTL'd session bucket. The bucket's max age
// removes the key of an actor that stops heart-beating; NATS 2.9 sends no
// event when that happens, so watchers of liveness poll `liveNodes`.
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import os from "node:os";
import { nodeMsg } from "../protocol/message-checks.js";
import type { NodeLoad, NodeMsg, SessionInfo } from "../protocol/messages.js";
import { SessionKey } from "../protocol/subjects.js";
import { kvKeys } from "./kv-keys.js";
import { decode, encode } from "./codec.js";
import type { Logger } from "./log.js";
import { Mailbox } from "./mailbox.js";

/** A session key not refreshed within this time is gone: its actor counts as dead. */
export const SESSION_TTL_MS = 6_000;

export class Session {
  private timer: NodeJS.Timeout | undefined;
  private reports: Mailbox<NodeMsg> | undefined;
  readonly info: SessionInfo;

  constructor(
    private readonly kv: KV,
    role: string,
    nodeId: string,
    private readonly log: Logger,
    /**
     * Where this actor reports its load (Names.nodeSubject) while its process
     * lives: the coordinator ends the session of a process with no responder
     * there (runtime/liveness.ts), and status shows the reports.
     */
    private readonly liveness?: { nc: NatsConnection; subject: string; report: () => NodeLoad },
  ) {
    this.info = { role, node_id: nodeId, host: os.hostname(), pid: process.pid, started_at: Date.now() };
  }

  private get key(): string {
    return SessionKey.node(this.info.role, this.info.node_id);
  }

  async start(): Promise<void> {
    // Before the key: a session is never seen without its pings.
    if (this.liveness) {
      const { nc, subject, report } = this.liveness;
      this.reports = new Mailbox<NodeMsg>(nc, { subject, maxInFlight: 8, check: (v) => nodeMsg(v, "message"), handle: async () => report(), log: this.log });
      // Answering from the moment the key exists.
      await nc.flush();
    }
    await this.kv.put(this.key, encode(this.info));
    this.timer = setInterval(() => {
      this.kv.put(this.key, encode(this.info)).catch((e) => this.log.warn("session heartbeat failed", { error: String(e) }));
    }, SESSION_TTL_MS / 4);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reports?.stop();
    await this.kv.delete(this.key).catch(() => undefined);
  }
}

/** Sessions alive now, optionally of one role. */
export async function liveNodes(kv: KV, role?: string): Promise<SessionInfo[]> {
  return (await liveSessions(kv, role)).map((s) => s.info);
}

/** Sessions alive now with the revision of each key (what a compare-and-set delete of it names). */
export async function liveSessions(kv: KV, role?: string): Promise<{ info: SessionInfo; revision: number }[]> {
  const out: { info: SessionInfo; revision: number }[] = [];
  for (const k of await kvKeys(kv, role ? SessionKey.nodesOf(role) : SessionKey.allNodes)) {
    const e = await kv.get(k);
    if (!e || e.operation !== "PUT") continue;
    // Only actors may write session keys; a value that still cannot be read counts as no live node.
    try {
      out.push({ info: decode(e.value) as SessionInfo, revision: e.revision });
    } catch {
      continue;
    }
  }
  return out;
}
