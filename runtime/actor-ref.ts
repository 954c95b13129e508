// Typed references to actors: `ask(msg)` sends one of the actor's messages and
// its reply type follows from the message's kind, so no call site names a
// subject or casts a reply. Built from the subject names in protocol/.
import type { NatsConnection } from "@nats-io/transport-node";
import type { CoordinatorMsg, CoordinatorReplies, NodeMsg, NodeReplies, QueryNodeMsg, QueryNodeReplies, ShardMsg, ShardReplies } from "../protocol/messages.js";
import type { Names } from "../protocol/subjects.js";
import { actorRequest } from "./rpc.js";

export class ActorRef<M extends { kind: string }, R extends { [K in M["kind"]]: unknown }> {
  /** `local`: whether a mailbox of this process may take the request without NATS (runtime/local-delivery.ts). */
  constructor(
    private readonly nc: NatsConnection,
    readonly subject: string,
    private readonly local = true,
  ) {}

  ask<K extends M["kind"]>(msg: Extract<M, { kind: K }>, timeoutMs?: number): Promise<R[K]> {
    return actorRequest<R[K]>(this.nc, this.subject, msg, timeoutMs, this.local);
  }
}

export type CoordinatorRef = ActorRef<CoordinatorMsg, CoordinatorReplies>;
export type ShardRef = ActorRef<ShardMsg, ShardReplies>;
export type QueryNodeRef = ActorRef<QueryNodeMsg, QueryNodeReplies>;
export type NodeRef = ActorRef<NodeMsg, NodeReplies>;

/**
 * The actors one connection can reach. `publishes` is what the connection's
 * NATS user may publish to: a request it may not send goes over NATS even
 * when the actor is in this process, so nats-server refuses it as it would
 * between processes (and a role lacking a permission shows in every test).
 */
export class Refs {
  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    private readonly publishes: (subject: string) => boolean = () => true,
  ) {}

  coordinator(): CoordinatorRef {
    return this.ref(this.names.coordinatorSubject());
  }

  shard(collectionId: number, shard: number, epoch: number): ShardRef {
    return this.ref(this.names.shardSubject(collectionId, shard, epoch));
  }

  queryNode(nodeId: string): QueryNodeRef {
    return this.ref(this.names.querySubject(nodeId));
  }

  /** A shard's edge replicas at a site: they take the same read messages as its owner. */
  edgeShard(site: string, collectionId: number, shard: number): ShardRef {
    return this.ref(this.names.edgeShardSubject(site, collectionId, shard));
  }

  /** Any actor, on its node subject: what it reports of its load. */
  node(role: string, nodeId: string): NodeRef {
    return this.ref(this.names.nodeSubject(role, nodeId));
  }

  private ref<M extends { kind: string }, R extends { [K in M["kind"]]: unknown }>(subject: string): ActorRef<M, R> {
    return new ActorRef(this.nc, subject, this.publishes(subject));
  }
}
