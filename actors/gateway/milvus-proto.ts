// Milvus's protocol, from the service definition @zilliz/milvus2-sdk-node
// 2.6.17 ships (proto/milvus.json, Apache-2.0; see proto/README.md). Loaded
// as the SDK loads it (field names as in the .proto files, enums as names,
// int64 as decimal strings), so requests decode to the shapes the handlers
// read. Two fields carry protobuf inside bytes: a CreateCollection's schema
// and a Search's placeholder group (its query vectors; encoded too, for
// `vecbus bench`'s client of the front door).
import fs from "node:fs";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadPackageDefinition } from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { VecbusError } from "../../protocol/errors.js";
import { packageFile } from "../../runtime/package-file.js";

const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export interface MilvusProto {
  service: ServiceDefinition;
  /** schema.CollectionSchema from CreateCollectionRequest.schema bytes. */
  decodeSchema(bytes: Uint8Array): Record<string, unknown>;
  /** The query vectors of a Search's placeholder group. */
  decodePlaceholders(bytes: Uint8Array): { type: string; values: Uint8Array[] }[];
  /** Float32 query vectors as a Search's placeholder group, as a Milvus SDK sends them. */
  encodePlaceholders(vectors: Float32Array[]): Uint8Array;
}

let loaded: MilvusProto | undefined;

export function milvusProto(): MilvusProto {
  if (loaded) return loaded;
  const json = JSON.parse(fs.readFileSync(packageFile("proto/milvus.json"), "utf8")) as protobuf.INamespace;
  const definition = loadPackageDefinition(fromJSON(json, LOADER_OPTIONS)) as unknown as { milvus: { proto: { milvus: { MilvusService: { service: ServiceDefinition } } } } };
  const root = protobuf.Root.fromJSON(json);
  const schema = root.lookupType("milvus.proto.schema.CollectionSchema");
  const placeholders = root.lookupType("milvus.proto.common.PlaceholderGroup");
  const toObject = (type: protobuf.Type, bytes: Uint8Array) => {
    try {
      return type.toObject(type.decode(bytes), LOADER_OPTIONS) as Record<string, unknown>;
    } catch (e) {
      throw new VecbusError("INVALID_ARGUMENT", `the ${type.name} bytes do not decode (${(e as Error).message})`);
    }
  };
  loaded = {
    service: definition.milvus.proto.milvus.MilvusService.service,
    decodeSchema: (bytes) => toObject(schema, bytes),
    decodePlaceholders: (bytes) => (toObject(placeholders, bytes).placeholders as { type: string; values: Uint8Array[] }[]) ?? [],
    encodePlaceholders: (vectors) =>
      placeholders
        .encode(placeholders.fromObject({ placeholders: [{ tag: "$0", type: "FloatVector", values: vectors.map((v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) }] }))
        .finish(),
  };
  return loaded;
}
