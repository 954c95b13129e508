// The Milvus front door on one port, as Milvus serves it: gRPC
// (MilvusService, milvus-service.ts) and REST v2 (milvus-rest.ts). Each
// connection is handed by its first bytes: the HTTP/2 preface goes to
// grpc-js, anything else to an HTTP/1.1 server. Both call the NATS API as
// the NATS user the caller's credentials name (callers.ts).
import { createServer as createHttpServer } from "node:http";
import net from "node:net";
import { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { limit } from "../../protocol/limits.js";
import type { Callers } from "./callers.js";
import { milvusProto } from "./milvus-proto.js";
import { milvusRest } from "./milvus-rest.js";
import { milvusService } from "./milvus-service.js";
import type { UserDirectory } from "./milvus-users.js";

export interface MilvusGateway {
  /** HOST:PORT it listens on (the port the system gave, when asked for 0). */
  address: string;
  /** Stops taking connections, lets calls in flight finish (for a few seconds at most), and closes the callers' NATS clients. */
  stop(): Promise<void>;
}

/** A request the NATS API could not carry anyway (nats.conf's max_payload) is refused before it is decoded. */
const MAX_REQUEST_BYTES = 8 << 20;
/** How every HTTP/2 connection starts ("PRI * HTTP/2.0..."): its first bytes are enough to tell. */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** How long connections may take, and how many there may be (protocol/limits.ts). */
export interface GatewayLimits {
  maxConnections: number;
  firstBytesMs: number;
  grpcIdleMs: number;
  grpcMaxStreams: number;
  httpIdleMs: number;
  httpHeadersMs: number;
  httpRequestMs: number;
}

export function gatewayLimits(): GatewayLimits {
  return {
    maxConnections: limit("milvusConnections"),
    firstBytesMs: limit("milvusFirstBytesMs"),
    grpcIdleMs: limit("milvusGrpcIdleMs"),
    grpcMaxStreams: limit("milvusGrpcStreams"),
    httpIdleMs: limit("milvusHttpIdleMs"),
    httpHeadersMs: limit("milvusHttpHeadersMs"),
    httpRequestMs: limit("milvusHttpRequestMs"),
  };
}

/** How long stop() lets calls in flight finish before cutting them. */
const STOP_GRACE_MS = 5_000;

/** `users`: the users file of the serve this front door belongs to, for Milvus's user and role RPCs (milvus-users.ts). */
export async function startMilvusGateway(callers: Callers, host: string, port: number, limits: GatewayLimits = gatewayLimits(), users?: UserDirectory): Promise<MilvusGateway> {
  const proto = milvusProto();
  const grpc = new Server({
    "grpc.max_receive_message_length": MAX_REQUEST_BYTES,
    "grpc.max_connection_idle_ms": limits.grpcIdleMs,
    "grpc.max_concurrent_streams": limits.grpcMaxStreams,
  });
  grpc.addService(proto.service, milvusService(callers, proto, users));
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  let restCalls = 0;
  const handle = milvusRest(callers, users);
  const rest = createHttpServer({ headersTimeout: limits.httpHeadersMs, requestTimeout: limits.httpRequestMs, connectionsCheckingInterval: Math.min(1000, limits.httpHeadersMs) }, (req, res) => {
    restCalls++;
    res.once("close", () => restCalls--);
    handle(req, res);
  });
  // Node enforces headersTimeout and requestTimeout on a timer it starts when a server listens; this
  // one is handed its connections instead, so it is told it listens.
  rest.emit("listening");
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // A reset before the first bytes must not reach the process as an unhandled 'error'.
    socket.on("error", () => socket.destroy());
    // A deadline, not an idle timer: a peer sending a byte now and then is cut all the same.
    const firstBytes = setTimeout(() => socket.destroy(), limits.firstBytesMs);
    socket.once("close", () => clearTimeout(firstBytes));
    // Replies go out in small writes through the replaying stream, which hides the socket from the HTTP/2 and
    // HTTP/1.1 servers that would turn Nagle's algorithm off themselves: with it on, a reply waited for the
    // client's delayed ACK (the front door ran at 0.14 of the NATS API's search QPS; see the README).
    socket.setNoDelay(true);
    // The connection is handed on once its first bytes tell: the whole HTTP/2 preface, or a byte that differs
    // from it. Until then the first-bytes timer runs (a peer sending the preface a byte at a time is still cut).
    let first = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      first = Buffer.concat([first, chunk]);
      const n = Math.min(first.length, HTTP2_PREFACE.length);
      const grpcSoFar = first.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (grpcSoFar && n < HTTP2_PREFACE.length) return;
      socket.off("data", sniff);
      clearTimeout(firstBytes);
      const stream = replayed(socket, first);
      if (grpcSoFar) {
        injector.injectConnection(stream);
      } else {
        socket.setTimeout(limits.httpIdleMs, () => socket.destroy());
        rest.emit("connection", stream);
      }
    };
    socket.on("data", sniff);
  });
  listener.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(port, host, () => resolve());
  });
  const bound = (listener.address() as net.AddressInfo).port;
  return {
    address: `${host}:${bound}`,
    stop: async () => {
      // Calls in flight get STOP_GRACE_MS to finish; idle clients are cut at once.
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      const deadline = Date.now() + STOP_GRACE_MS;
      rest.close();
      rest.closeIdleConnections();
      const drained = new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      await Promise.race([drained, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
      grpc.forceShutdown();
      while (restCalls > 0 && Date.now() < deadline) await sleep(50, undefined, { ref: false });
      injector.destroy();
      for (const s of sockets) s.destroy();
      await closed;
      await callers.close();
    },
  };
}

/**
 * The socket as a stream that gives the bytes already read first. Read back
 * into the socket (unshift) they would be missed: HTTP/2 and HTTP/1.1
 * servers read a plain socket's handle directly, not through its stream.
 */
function replayed(socket: net.Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => void socket.write(chunk, done),
    final: (done) => {
      socket.end();
      done();
    },
    destroy: (error, done) => {
      socket.destroy(error ?? undefined);
      done(error);
    },
  });
  stream.push(first);
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("error", (e) => stream.destroy(e));
  socket.on("close", () => stream.destroy());
  return stream;
}
