// Typed references to actors: `ask(msg)` sends one of the actor's messages and
// its reply type follows from the message's kind, so no call site names a
// subject or casts a reply. Built from the subject names in protocol/.
import type { NatsConnection } from "@nats-io/transport-node";
import type { CoordinatorMsg, CoordinatorReplies, QueryNodeMsg, QueryNodeReplies, ShardMsg, ShardReplies } from "../protocol/messages.js";
import type { Names } from "../protocol/subjects.js";
import { request } from "./rpc.js";

export class ActorRef<M extends { kind: string }, R extends { [K in M["kind"]]: unknown }> {
  constructor(
    private readonly nc: NatsConnection,
    readonly subject: string,
  ) {}

  ask<K extends M["kind"]>(msg: Extract<M, { kind: K }>, timeoutMs?: number): Promise<R[K]> {
    return request<R[K]>(this.nc, this.subject, msg, timeoutMs);
  }
}

export type CoordinatorRef = ActorRef<CoordinatorMsg, CoordinatorReplies>;
export type ShardRef = ActorRef<ShardMsg, ShardReplies>;
export type QueryNodeRef = ActorRef<QueryNodeMsg, QueryNodeReplies>;

/** The actors one connection can reach. */
export class Refs {
  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
  ) {}

  coordinator(): CoordinatorRef {
    return new ActorRef(this.nc, this.names.coordinatorSubject());
  }

  shard(collectionId: number, shard: number): ShardRef {
    return new ActorRef(this.nc, this.names.shardSubject(collectionId, shard));
  }

  queryNode(nodeId: string): QueryNodeRef {
    return new ActorRef(this.nc, this.names.querySubject(nodeId));
  }
}
