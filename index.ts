// The package's public surface.
export { VecbusClient, type ClientOptions } from "./runtime/client.js";
export type * from "./protocol/api.js";
export type { CollectionSchema, FieldSchema, DataType, MetricType } from "./protocol/schema.js";
export type { PrimaryKey, Row } from "./protocol/rows.js";
export { ErrorCode, VecbusError } from "./protocol/errors.js";
export { startCluster, type Cluster, type ClusterOptions } from "./cli/cluster.js";
