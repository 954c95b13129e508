// The Milvus front door over a test's vecbus, as `vecbus serve` runs it:
// callers with credentials act as their NATS user, others as the anonymous user.
import { Callers } from "../../actors/gateway/callers.js";
import { gatewayLimits, type GatewayLimits, startMilvusGateway } from "../../actors/gateway/front-door.js";
import { VecbusClient } from "../../runtime/client.js";
import type { TestEnv } from "../harness.js";

export function startGateway(env: TestEnv, anonymous = true, limits: Partial<GatewayLimits> = {}) {
  return startMilvusGateway(new Callers((auth) => VecbusClient.connect(env.nats.url, { auth }), anonymous), "127.0.0.1", 0, { ...gatewayLimits(), ...limits });
}
