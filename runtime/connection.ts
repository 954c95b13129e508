// Connecting to NATS: credentials, TLS, inbox prefix, reconnection, and a
// close that cannot hang on a server that is gone.
import fs from "node:fs";
import { connect, credsAuthenticator, errors, nkeyAuthenticator, type Authenticator, type NatsConnection } from "@nats-io/transport-node";
import { VecbusError } from "../protocol/errors.js";

/**
 * How a connection proves who it is: a user and password, an nkey seed file
 * (what `vecbus serve` does not generate, but a hand-written server config
 * may use), a creds file (servers in NATS operator/JWT mode), and TLS files.
 * Every field is optional: none is an anonymous connection.
 */
export interface NatsAuth {
  user?: string;
  pass?: string;
  nkeyFile?: string;
  credsFile?: string;
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
}

export interface ConnectOptions {
  /** Actors reconnect forever (a NATS restart must not end them); clients give up after the library's default attempts, so a request fails instead of hanging. */
  reconnectForever: boolean;
  auth?: NatsAuth;
  /** Where replies to this connection travel (default `_INBOX`): actors and named users use a prefix only they may subscribe to. */
  inboxPrefix?: string;
}

/** `url` may list several servers of one NATS cluster, comma-separated: the connection starts at one and moves to another when it fails. */
export async function connectNats(url: string, name: string, opts: ConnectOptions): Promise<NatsConnection> {
  const auth = opts.auth ?? {};
  try {
    return await connect({
      servers: url.split(",").map((s) => s.trim()).filter((s) => s !== ""),
      name,
      maxReconnectAttempts: opts.reconnectForever ? -1 : 10,
      reconnectTimeWait: 500,
      // Otherwise every request builds an Error up front for its stack (and a TimeoutError): ~10% of a busy actor's CPU, measured with --cpu-prof.
      noAsyncTraces: true,
      inboxPrefix: opts.inboxPrefix,
      user: auth.user,
      pass: auth.pass,
      authenticator: authenticator(auth),
      tls: auth.tls,
    });
  } catch (e) {
    if (e instanceof VecbusError) throw e;
    if (e instanceof errors.AuthorizationError) {
      throw new VecbusError("UNAUTHENTICATED", `NATS at ${url} refused the credentials (${e.message}); pass --user/--password, --nkey or --creds of a user the server knows`);
    }
    throw new VecbusError("UNAVAILABLE", `cannot connect to NATS at ${url} (${(e as Error).message}); start it with "vecbus serve" or pass --server`);
  }
}

function authenticator(auth: NatsAuth): Authenticator | undefined {
  if (auth.credsFile) return credsAuthenticator(readCredential(auth.credsFile));
  if (auth.nkeyFile) return nkeyAuthenticator(readCredential(auth.nkeyFile));
  return undefined;
}

function readCredential(file: string): Uint8Array {
  try {
    // An nkey seed file may end with a newline that is not part of the seed.
    return new TextEncoder().encode(fs.readFileSync(file, "utf8").trim());
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `cannot read credentials file ${file}: ${(e as Error).message}`);
  }
}

/**
 * Drains (lets pending replies go out) when the server is there; a drain on a
 * connection that is reconnecting would wait for the server forever, so it is
 * cut short and the connection closed.
 */
export async function closeConnection(nc: NatsConnection, drainMs = 3_000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
  await Promise.race([nc.drain().catch(() => undefined), cut]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

/**
 * Calls `fn` on each `event` of `nc` ("disconnect", "reconnect") until
 * stopped. After a reconnect, subscriptions are back by themselves, but
 * whatever was published to them while the connection was down is lost.
 */
export function onConnectionEvent(nc: NatsConnection, event: "disconnect" | "reconnect", fn: () => void): { stop(): void } {
  const events = nc.status() as AsyncIterable<{ type: string }> & { stop(): void };
  void (async () => {
    for await (const s of events) if (s.type === event) fn();
  })();
  return { stop: () => events.stop() };
}
