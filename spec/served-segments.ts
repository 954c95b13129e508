// A collection of several sealed, indexed segments served by the query node,
// with some rows deleted: what the tests of the query node's search paths
// (search threads, vector codes) search against brute force.
import type { VecbusClient } from "../runtime/client.js";
import { eventually } from "./timeouts.js";

export interface ServedSegments {
  name: string;
  /** Row id's vector; rows go to segments in id order, `perSegment` each. */
  vectors: number[][];
  perSegment: number;
  /** The Int32 field `n` of row id is id % nModulo. */
  nModulo: number;
  dead: Iterable<number>;
  /** How the query node comes to keep `n`'s rows together: an STL_SORT index on it, or n as the clustering key. */
  orderN?: "index" | "clustering key";
}

/** Creates the collection (HNSW M=16, efConstruction=128, L2; n as `orderN` says), flushes a segment per `perSegment` rows, waits until the query node serves them all, then deletes `dead`. */
export async function serveSegments(c: VecbusClient, o: ServedSegments): Promise<void> {
  const dim = o.vectors[0].length;
  const segments = Math.ceil(o.vectors.length / o.perSegment);
  await c.create_collection({
    collection_name: o.name,
    schema: {
      fields: [
        { name: "id", type: "Int64", is_primary: true },
        { name: "vector", type: "FloatVector", dim },
        { name: "n", type: "Int32", ...(o.orderN === "clustering key" && { is_clustering_key: true }) },
      ],
    },
    metric_type: "L2",
    index_params: [
      { field_name: "vector", index_type: "HNSW", metric_type: "L2", params: { M: 16, efConstruction: 128 } },
      ...(o.orderN === "index" ? [{ field_name: "n", index_type: "STL_SORT" }] : []),
    ],
  });
  for (let s = 0; s < segments; s++) {
    const ids = Array.from({ length: Math.min(o.perSegment, o.vectors.length - s * o.perSegment) }, (_, i) => s * o.perSegment + i);
    await c.insert({ collection_name: o.name, data: ids.map((id) => ({ id, vector: o.vectors[id], n: id % o.nModulo })) });
    await c.flush({ collection_name: o.name });
  }
  await eventually("every segment indexed and served by the query node", async () => {
    const sealed = (await c.status()).segments.filter((g) => g.collection_name === o.name && g.segment_id !== null);
    return sealed.length === segments && sealed.every((g) => g.index !== "-" && /^query \S+$/.test(g.served_by));
  });
  await c.delete({ collection_name: o.name, ids: [...o.dead] });
}
