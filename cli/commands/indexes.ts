// `vecbus index ...`.
import { ClientCommandSpec, lines, need, str } from "../command.js";
import { pairs } from "../table.js";
import { parseJsonMap } from "./reads.js";

export function indexCommands(): ClientCommandSpec[] {
  return [
    {
      name: "index create",
      args: "COLLECTION --field F [--type AUTOINDEX|HNSW|HNSW_SQ|FLAT|INVERTED|BITMAP|STL_SORT] [--params JSON] [--name NAME]",
      summary: "declare an index: on a vector field data nodes build it for every flushed segment; on a scalar field query nodes build it as they load segments",
      positionals: ["COLLECTION"],
      options: { field: { type: "string" }, type: { type: "string" }, params: { type: "string" }, name: { type: "string" } },
      plan: (p) => {
        const params = str(p, "params") === undefined ? undefined : parseJsonMap(need(p, "params"), "--params");
        const index = { field_name: need(p, "field"), index_type: str(p, "type") ?? "AUTOINDEX", index_name: str(p, "name"), params };
        return async (client) => {
          const r = await client.create_index({ collection_name: p.positionals[0], index_params: [index] });
          return { data: r, text: `created index ${index.index_name ?? index.field_name} (${index.index_type}) on ${p.positionals[0]}.${index.field_name}` };
        };
      },
    },
    {
      name: "index describe",
      args: "COLLECTION [--name NAME]",
      summary: "an index's type, parameters and build progress",
      positionals: ["COLLECTION"],
      options: { name: { type: "string" } },
      plan: (p) => async (client) => {
        const d = await client.describe_index({ collection_name: p.positionals[0], index_name: str(p, "name") });
        return { data: d, text: pairs(Object.entries(d)) };
      },
    },
    {
      name: "index list",
      args: "COLLECTION",
      summary: "list a collection's indexes",
      positionals: ["COLLECTION"],
      plan: (p) => async (client) => {
        const names = await client.list_indexes({ collection_name: p.positionals[0] });
        return { data: names, text: lines(names, "(no indexes)") };
      },
    },
    {
      name: "index drop",
      args: "COLLECTION NAME",
      summary: "drop an index and its built files",
      positionals: ["COLLECTION", "NAME"],
      plan: (p) => async (client) => {
        const r = await client.drop_index({ collection_name: p.positionals[0], index_name: p.positionals[1] });
        return { data: r, text: `dropped index ${p.positionals[1]} of ${p.positionals[0]}` };
      },
    },
  ];
}
