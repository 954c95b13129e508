// The Milvus front door over a test's vecbus, as `vecbus serve` runs it:
// callers with credentials act as their NATS user, others as the anonymous user.
import assert from "node:assert/strict";
import { credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import { Callers } from "../../actors/gateway/callers.js";
import { gatewayLimits, type GatewayLimits, startMilvusGateway } from "../../actors/gateway/front-door.js";
import { milvusProto } from "../../actors/gateway/milvus-proto.js";
import type { UserDirectory } from "../../actors/gateway/milvus-users.js";
import { VecbusClient } from "../../runtime/client.js";
import type { TestEnv } from "../harness.js";

/** `users`: the test env's users file, as `vecbus serve` gives its front door (Milvus's user and role RPCs). */
export function startGateway(env: TestEnv, anonymous = true, limits: Partial<GatewayLimits> = {}, users?: UserDirectory) {
  return startMilvusGateway(new Callers((auth) => VecbusClient.connect(env.nats.url, { auth }), anonymous), "127.0.0.1", 0, { ...gatewayLimits(), ...limits }, users);
}

/** A raw gRPC client of MilvusService (no SDK in between): any request shape, the reply as decoded. */
export function rawMilvus(address: string): { call(method: string, req: object): Promise<Record<string, unknown>>; close(): void } {
  const Service = makeGenericClientConstructor(milvusProto().service, "MilvusService");
  const client = new Service(address, credentials.createInsecure());
  const methods = client as unknown as Record<string, (req: object, cb: (e: Error | null, r: Record<string, unknown>) => void) => void>;
  return {
    call: (method, req) => new Promise((resolve, reject) => methods[method](req, (e, r) => (e ? reject(e) : resolve(r)))),
    close: () => client.close(),
  };
}

/** Asserts an SDK reply (a Status, or a response with one) is a success. */
export function assertSuccess(r: { error_code?: string | number; status?: { error_code: string | number } }): void {
  assert.equal(r.status?.error_code ?? r.error_code, "Success", JSON.stringify(r));
}
