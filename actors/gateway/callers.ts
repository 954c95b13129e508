// Who a Milvus caller acts as on NATS. A Milvus SDK sends "user:password"
// (or its token, which for Milvus is the same pair): over gRPC base64 in the
// `authorization` metadata, over REST as `Authorization: Bearer user:password`.
// The gateway acts for it through a client
// connected as that NATS user, so the user's role (readonly, readwrite,
// admin) decides what it may do, as on the NATS API itself. A caller without
// credentials acts as the anonymous user, where the server has one.
//
// Only credentials NATS has accepted are kept, so a stream of wrong guesses
// can neither push real users' connections out nor hold more than a bounded
// number of connection attempts at once (protocol/limits.ts).
import type { Metadata } from "@grpc/grpc-js";
import { VecbusError } from "../../protocol/errors.js";
import { limit, limitText } from "../../protocol/limits.js";
import type { VecbusClient } from "../../runtime/client.js";
import type { NatsAuth } from "../../runtime/connection.js";
import type { Caller } from "./milvus-users.js";

/** How long an evicted client lives on, so calls it is carrying finish (longer than any request's timeout). */
const EVICTED_GRACE_MS = 120_000;
const ANONYMOUS = "";

export class Callers {
  private readonly connected = new Map<string, VecbusClient>();
  private readonly connecting = new Map<string, Promise<VecbusClient>>();
  private readonly retiring = new Map<NodeJS.Timeout, VecbusClient>();
  /** Credentials forgotten while a connection with them was being made: it is closed when made. */
  private readonly forgotten = new Set<string>();
  private closed = false;

  constructor(
    /** Connects as a NATS user, or as the anonymous user without auth (rejects with UNAUTHENTICATED for wrong credentials). */
    private readonly connect: (auth?: NatsAuth) => Promise<VecbusClient>,
    /** Whether callers without credentials act as the anonymous user (false where the server requires credentials). */
    private readonly anonymous: boolean,
  ) {}

  /** A gRPC caller, by its `authorization` metadata. */
  ofGrpc(metadata: Metadata): Promise<VecbusClient> {
    return this.of(grpcCredential(metadata));
  }

  /** Who a gRPC caller says it is; trust it only once ofGrpc has resolved for the same metadata. */
  callerOfGrpc(metadata: Metadata): Caller {
    return callerOf(grpcCredential(metadata));
  }

  /** A caller by its "user:password" ("" for none). */
  of(credential: string): Promise<VecbusClient> {
    if (this.closed) return Promise.reject(new VecbusError("UNAVAILABLE", "the Milvus front door is shutting down"));
    if (credential === ANONYMOUS && !this.anonymous) {
      return Promise.reject(new VecbusError("UNAUTHENTICATED", "this vecbus requires credentials: give the Milvus client a username and password (or token \"user:password\")"));
    }
    const colon = credential.indexOf(":");
    if (credential !== ANONYMOUS && colon <= 0) return Promise.reject(new VecbusError("UNAUTHENTICATED", "the authorization must be base64 of user:password (Milvus's token form)"));
    const ready = this.connected.get(credential);
    if (ready && !ready.nc.isClosed()) {
      this.connected.delete(credential);
      this.connected.set(credential, ready);
      return Promise.resolve(ready);
    }
    this.connected.delete(credential);
    const pending = this.connecting.get(credential);
    if (pending) return pending;
    if (this.connecting.size >= limit("milvusConnecting")) return Promise.reject(new VecbusError("RESOURCE_EXHAUSTED", `${limitText("milvusConnecting")}: try again`));
    // Refused credentials are not kept: the next call tries again (the user may have been created since).
    const client = this.connect(credential === ANONYMOUS ? undefined : { user: credential.slice(0, colon), pass: credential.slice(colon + 1) }).then(
      async (c) => {
        this.connecting.delete(credential);
        if (this.forgotten.delete(credential)) {
          await c.close();
          throw new VecbusError("UNAUTHENTICATED", "these credentials were dropped or their password changed while the front door connected with them");
        }
        if (this.closed) {
          await c.close();
          throw new VecbusError("UNAVAILABLE", "the Milvus front door is shutting down");
        }
        this.connected.set(credential, c);
        this.evictBeyondLimit();
        return c;
      },
      (e: unknown) => {
        this.connecting.delete(credential);
        this.forgotten.delete(credential);
        throw e;
      },
    );
    this.connecting.set(credential, client);
    return client;
  }

  private evictBeyondLimit(): void {
    for (const [key, oldest] of this.connected) {
      if (this.connected.size <= limit("milvusCallers") + (this.connected.has(ANONYMOUS) ? 1 : 0)) break;
      if (key === ANONYMOUS) continue;
      this.connected.delete(key);
      const timer = setTimeout(() => {
        this.retiring.delete(timer);
        void oldest.close();
      }, EVICTED_GRACE_MS);
      this.retiring.set(timer, oldest);
    }
    // Callers in rotation must not pile up connections: beyond as many retiring as kept, the oldest goes now,
    // cutting any call it still carries (more distinct callers than twice VECBUS_MILVUS_CALLERS at once; see Limits).
    for (const [timer, client] of this.retiring) {
      if (this.retiring.size <= limit("milvusCallers")) break;
      clearTimeout(timer);
      this.retiring.delete(timer);
      void client.close();
    }
  }

  /**
   * Closes the clients of a user just dropped, or of its passwords but `kept`
   * (a password just changed): NATS has closed their connections, and a call
   * sent on one would wait for it to reconnect with credentials it refuses.
   */
  forget(user: string, kept?: string): void {
    const old = (credential: string) => {
      const caller = callerOf(credential);
      return caller?.user === user && caller.password !== kept;
    };
    for (const [credential, client] of this.connected) {
      if (!old(credential)) continue;
      this.connected.delete(credential);
      void client.close();
    }
    for (const credential of this.connecting.keys()) if (old(credential)) this.forgotten.add(credential);
  }

  /** Closes every client; calls after this are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retiring.keys()) clearTimeout(timer);
    await Promise.allSettled(this.connecting.values());
    const all = [...this.connected.values(), ...this.retiring.values()];
    this.connected.clear();
    this.retiring.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}

function grpcCredential(metadata: Metadata): string {
  const header = String(metadata.get("authorization")[0] ?? "");
  return header === "" ? ANONYMOUS : Buffer.from(header, "base64").toString("utf8");
}

/** The user and password a "user:password" credential names (undefined for none). */
export function callerOf(credential: string): Caller {
  const colon = credential.indexOf(":");
  return colon <= 0 ? undefined : { user: credential.slice(0, colon), password: credential.slice(colon + 1) };
}
