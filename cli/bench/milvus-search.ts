// A client of the Milvus gRPC front door for `vecbus bench`: Search as a
// Milvus SDK sends it (placeholder group of float32 bytes, search params as
// key/value strings, no output fields), over one HTTP/2 connection, so the
// figure is the front door's cost beside the NATS API's in the same run.
import { credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import { milvusProto } from "../../actors/gateway/milvus-proto.js";

type Reply = { status?: { code: number; reason: string }; results?: { ids?: { int_id?: { data: string[] } } } };
type Unary = (req: object, options: { deadline: number }, cb: (e: Error | null, r: Reply) => void) => void;

/** A search the front door has not answered by then fails the bench instead of hanging it. */
const SEARCH_DEADLINE_MS = 60_000;

export interface MilvusSearcher {
  /** The ids of the nearest rows, nearest first. */
  search(vector: Float32Array, filter?: string): Promise<number[]>;
  close(): void;
}

export function milvusSearcher(address: string, collection: string, limit: number, ef: number): MilvusSearcher {
  const proto = milvusProto();
  const Service = makeGenericClientConstructor(proto.service, "MilvusService");
  const client = new Service(address, credentials.createInsecure(), { "grpc.max_receive_message_length": 64 << 20 });
  const search = (client as unknown as Record<string, Unary>).Search.bind(client);
  const params = [
    { key: "topk", value: String(limit) },
    { key: "params", value: JSON.stringify({ ef }) },
    { key: "anns_field", value: "vector" },
  ];
  return {
    search: (vector, filter) =>
      new Promise((resolve, reject) =>
        search(
          { collection_name: collection, dsl: filter ?? "", dsl_type: "BoolExprV1", placeholder_group: proto.encodePlaceholders([vector]), search_params: params, nq: 1, use_default_consistency: true },
          { deadline: Date.now() + SEARCH_DEADLINE_MS },
          (e, r) => {
            if (e) return reject(e);
            if (r.status && r.status.code !== 0) return reject(new Error(`Milvus status ${r.status.code}: ${r.status.reason}`));
            resolve((r.results?.ids?.int_id?.data ?? []).map(Number));
          },
        ),
      ),
    close: () => client.close(),
  };
}
