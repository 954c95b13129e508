// The Milvus front door on one port, as Milvus serves it: gRPC
// (MilvusService, milvus-service.ts) and REST v2 (milvus-rest.ts). Each
// connection is handed by its first bytes: the HTTP/2 preface goes to
// grpc-js, anything else to an HTTP/1.1 server. Both call the NATS API as
// the NATS user the caller's credentials name (callers.ts).
import { createServer as createHttpServer } from "node:http";
import net from "node:net";
import { Duplex } from "node:stream";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Callers } from "./callers.js";
import { milvusProto } from "./milvus-proto.js";
import { milvusRest } from "./milvus-rest.js";
import { milvusService } from "./milvus-service.js";

export interface MilvusGateway {
  /** HOST:PORT it listens on (the port the system gave, when asked for 0). */
  address: string;
  stop(): Promise<void>;
}

/** A request the NATS API could not carry anyway (nats.conf's max_payload) is refused before it is decoded. */
const MAX_REQUEST_BYTES = 8 << 20;
/** How every HTTP/2 connection starts ("PRI * HTTP/2.0..."): its first bytes are enough to tell. */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export async function startMilvusGateway(callers: Callers, host: string, port: number): Promise<MilvusGateway> {
  const proto = milvusProto();
  const grpc = new Server({ "grpc.max_receive_message_length": MAX_REQUEST_BYTES });
  grpc.addService(proto.service, milvusService(callers, proto));
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  const rest = createHttpServer(milvusRest(callers));
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (first: Buffer) => {
      const n = Math.min(first.length, HTTP2_PREFACE.length);
      const stream = replayed(socket, first);
      if (first.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) injector.injectConnection(stream);
      else rest.emit("connection", stream);
    });
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(port, host, () => resolve());
  });
  const bound = (listener.address() as net.AddressInfo).port;
  return {
    address: `${host}:${bound}`,
    stop: async () => {
      // The listener closes once its connections have: calls in flight finish, idle clients are cut.
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      injector.destroy();
      rest.close();
      for (const s of sockets) s.destroy();
      await closed;
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
