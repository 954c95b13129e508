// Who a Milvus caller acts as on NATS. A Milvus SDK sends "user:password"
// (or its token, which for Milvus is the same pair): over gRPC base64 in the
// `authorization` metadata, over REST as `Authorization: Bearer user:password`.
// The gateway acts for it through a client
// connected as that NATS user, so the user's role (readonly, readwrite,
// admin) decides what it may do, as on the NATS API itself. A caller without
// credentials acts as the anonymous user, where the server has one.
import type { Metadata } from "@grpc/grpc-js";
import { VecbusError } from "../../protocol/errors.js";
import type { VecbusClient } from "../../runtime/client.js";
import type { NatsAuth } from "../../runtime/connection.js";

/** NATS connections kept for callers with credentials, the least recently used closed beyond it. */
const MAX_CALLERS = 64;

export class Callers {
  private readonly byCredential = new Map<string, Promise<VecbusClient>>();

  constructor(
    /** Connects as a NATS user (rejects with UNAUTHENTICATED for wrong credentials). */
    private readonly connect: (auth: NatsAuth) => Promise<VecbusClient>,
    /** The anonymous user's client; undefined where the server requires credentials. */
    private readonly anonymous: VecbusClient | undefined,
  ) {}

  /** A gRPC caller, by its `authorization` metadata. */
  ofGrpc(metadata: Metadata): Promise<VecbusClient> {
    const header = String(metadata.get("authorization")[0] ?? "");
    return this.of(header === "" ? "" : Buffer.from(header, "base64").toString("utf8"));
  }

  /** A caller by its "user:password" ("" for none). */
  of(credential: string): Promise<VecbusClient> {
    if (credential === "") {
      if (!this.anonymous) return Promise.reject(new VecbusError("UNAUTHENTICATED", "this vecbus requires credentials: give the Milvus client a username and password (or token \"user:password\")"));
      return Promise.resolve(this.anonymous);
    }
    const colon = credential.indexOf(":");
    if (colon <= 0) return Promise.reject(new VecbusError("UNAUTHENTICATED", "the authorization must be base64 of user:password (Milvus's token form)"));
    const cached = this.byCredential.get(credential);
    if (cached) {
      this.byCredential.delete(credential);
      this.byCredential.set(credential, cached);
      return cached;
    }
    const client = this.connect({ user: credential.slice(0, colon), pass: credential.slice(colon + 1) });
    this.byCredential.set(credential, client);
    // Refused credentials are not kept: the next call tries again (the user may have been created since).
    client.catch(() => this.byCredential.get(credential) === client && this.byCredential.delete(credential));
    for (const [key, oldest] of this.byCredential) {
      if (this.byCredential.size <= MAX_CALLERS) break;
      this.byCredential.delete(key);
      void oldest.then((c) => c.close()).catch(() => undefined);
    }
    return client;
  }

  async close(): Promise<void> {
    const all = [...this.byCredential.values()];
    this.byCredential.clear();
    await Promise.all(all.map((c) => c.then((x) => x.close()).catch(() => undefined)));
  }
}
