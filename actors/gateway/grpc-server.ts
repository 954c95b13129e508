// The Milvus gRPC front door: a grpc-js server of MilvusService whose
// handlers call the NATS API as a client (milvus-service.ts), as the NATS
// user the caller's credentials name (callers.ts).
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Callers } from "./callers.js";
import { milvusProto } from "./milvus-proto.js";
import { milvusService } from "./milvus-service.js";

export interface MilvusGateway {
  /** HOST:PORT it listens on (the port the system gave, when asked for 0). */
  address: string;
  stop(): Promise<void>;
}

/** A request the NATS API could not carry anyway (nats.conf's max_payload) is refused before it is decoded. */
const MAX_REQUEST_BYTES = 8 << 20;

export async function startMilvusGateway(callers: Callers, host: string, port: number): Promise<MilvusGateway> {
  const proto = milvusProto();
  const server = new Server({ "grpc.max_receive_message_length": MAX_REQUEST_BYTES });
  server.addService(proto.service, milvusService(callers, proto));
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    address: `${host}:${bound}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
