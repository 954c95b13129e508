// `vecbus collection ...`.
import type { CollectionDescription } from "../../protocol/api.js";
import { CONSISTENCY_LEVELS } from "../../protocol/collection.js";
import type { CollectionSchema, FieldSchema, MetricType } from "../../protocol/schema.js";
import { Action, ClientCommandSpec, consistency, flag, int, isoTime, Parsed, plural, positiveInt, readJsonFile, str, UsageError } from "../command.js";
import { pairs, table } from "../table.js";

export function collectionCommands(): ClientCommandSpec[] {
  return [
    {
      name: "collection create",
      args: `NAME --dim N [--metric L2|IP|COSINE] [--id-type int|string] [--auto-id] [--shards N] [--consistency ${CONSISTENCY_LEVELS.join("|")}] | --schema FILE.json [--partitions N]`,
      summary: "create a collection",
      positionals: ["NAME"],
      options: {
        dim: { type: "string" },
        metric: { type: "string" },
        "id-type": { type: "string" },
        "auto-id": { type: "boolean" },
        shards: { type: "string" },
        schema: { type: "string" },
        consistency: { type: "string" },
        partitions: { type: "string" },
      },
      plan: planCreate,
    },
    {
      name: "collection list",
      args: "",
      summary: "list collection names",
      plan: () => async (client) => {
        const names = await client.list_collections();
        return { data: names, text: names.length > 0 ? names.join("\n") : "(no collections)" };
      },
    },
    {
      name: "collection describe",
      args: "NAME",
      summary: "show a collection's settings and fields",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const d = await client.describe_collection({ collection_name: p.positionals[0] });
        return { data: d, text: describeText(d) };
      },
    },
    {
      name: "collection drop",
      args: "NAME",
      summary: "drop a collection and its data",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.drop_collection({ collection_name: p.positionals[0] });
        return { data: r, text: `dropped collection ${p.positionals[0]}` };
      },
    },
    {
      name: "collection rename",
      args: "OLD NEW",
      summary: "rename a collection (its aliases follow it)",
      positionals: ["OLD", "NEW"],
      plan: (p) => {
        const [old_name, new_name] = p.positionals;
        return async (client) => {
          const d = await client.call("rename_collection", { old_name, new_name });
          return { data: d, text: `renamed collection ${old_name} to ${d.collection_name}` };
        };
      },
    },
    {
      name: "collection load",
      args: "NAME [--replicas N] [--timeout SECONDS]",
      summary: "load a collection onto the query nodes (N copies of each segment, on N nodes) and wait until it is served",
      positionals: ["NAME"],
      options: { timeout: { type: "string" }, replicas: { type: "string" } },
      plan: (p) => async (client) => {
        const r = await client.load_collection({ collection_name: p.positionals[0], timeout: positiveInt(p, "timeout", 60), replica_number: positiveInt(p, "replicas", 1) });
        return { data: r, text: `collection ${p.positionals[0]}: ${r.state}` };
      },
    },
    {
      name: "collection replicas",
      args: "NAME",
      summary: "the replicas of a loaded collection: their query nodes and segments",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const replicas = await client.describe_replica({ collection_name: p.positionals[0] });
        const rows = replicas.map((r) => [r.replica_id, r.node_ids.join(", ") || "-", `${r.loaded_segments}/${r.segments}`, r.rows, r.shard_leaders.map((l) => `${l.shard}:${l.node_id}`).join(", ")]);
        return { data: replicas, text: rows.length === 0 ? `collection ${p.positionals[0]} is not loaded` : table(["replica", "query nodes", "segments loaded", "rows", "shard leaders"], rows) };
      },
    },
    {
      name: "collection release",
      args: "NAME",
      summary: "release a collection: its reads are refused until it is loaded again",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.release_collection({ collection_name: p.positionals[0] });
        return { data: r, text: `collection ${p.positionals[0]}: ${r.state}` };
      },
    },
    {
      name: "collection load-state",
      args: "NAME",
      summary: "NotLoad, Loading (with progress) or Loaded",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.get_load_state({ collection_name: p.positionals[0] });
        return { data: r, text: pairs([["collection", p.positionals[0]], ["state", r.state], ["progress", `${r.progress}%`]]) };
      },
    },
    {
      name: "collection compact",
      args: "NAME [--wait]",
      summary: "merge small segments and drop deleted rows; --wait follows it to the end",
      positionals: ["NAME"],
      options: { wait: { type: "boolean" } },
      plan: (p) => async (client) => {
        const { compaction_id } = await client.compact({ collection_name: p.positionals[0] });
        let state = await client.get_compaction_state({ compaction_id });
        while (flag(p, "wait") && state.state !== "Completed") {
          if (!flag(p, "json")) process.stderr.write(`\rcompaction ${compaction_id}: ${state.completed}/${state.completed + state.executing} tasks done`);
          await new Promise((r) => setTimeout(r, 500));
          state = await client.get_compaction_state({ compaction_id });
        }
        if (flag(p, "wait") && !flag(p, "json")) process.stderr.write("\n");
        return { data: state, text: pairs(Object.entries(state)) };
      },
    },
    {
      name: "collection compaction-state",
      args: "ID",
      summary: "whether a compaction started by `collection compact` is done",
      positionals: ["ID"],
      plan: (p) => async (client) => {
        const r = await client.get_compaction_state({ compaction_id: Number(p.positionals[0]) });
        return { data: r, text: pairs(Object.entries(r)) };
      },
    },
    {
      name: "collection stats",
      args: "NAME",
      summary: "show a collection's row count",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.get_collection_stats({ collection_name: p.positionals[0] });
        return { data: r, text: pairs([["collection", p.positionals[0]], ["row_count", r.row_count]]) };
      },
    },
  ];
}

function planCreate(p: Parsed): Action {
  const collection_name = p.positionals[0];
  const num_partitions = int(p, "partitions");
  if (num_partitions !== undefined && num_partitions < 1) throw new UsageError(`--partitions must be at least 1, got ${num_partitions}`);
  const common = {
    collection_name,
    metric_type: str(p, "metric") as MetricType | undefined,
    num_shards: int(p, "shards"),
    consistency_level: consistency(p),
    num_partitions,
  };
  const schemaFile = str(p, "schema");
  let args: Record<string, unknown>;
  if (schemaFile !== undefined) {
    if (["dim", "id-type", "auto-id"].some((k) => p.values[k] !== undefined)) {
      throw new UsageError("--schema takes the place of --dim, --id-type and --auto-id; give one or the other");
    }
    const schema = readJsonFile(schemaFile) as CollectionSchema;
    if (num_partitions !== undefined && !hasPartitionKey(schema)) {
      throw new UsageError(`--partitions needs a partition key: give one field of ${schemaFile} "is_partition_key": true`);
    }
    args = { ...common, schema };
  } else {
    const dimension = int(p, "dim");
    if (dimension === undefined) throw new UsageError("collection create needs --dim N (or --schema FILE.json)");
    if (num_partitions !== undefined) throw new UsageError("--partitions needs a partition-key field, so it goes with --schema FILE.json");
    args = { ...common, dimension, id_type: str(p, "id-type") as "int" | "string" | undefined, auto_id: flag(p, "auto-id") };
  }
  return async (client) => {
    const d = await client.call("create_collection", args);
    const parts = d.num_partitions > 1 ? `, ${plural(d.num_partitions, "partition")}` : "";
    return {
      data: d,
      text: `created collection ${d.collection_name} (id ${d.collection_id}, ${plural(d.num_shards, "shard")}${parts}, metric ${d.metric_type}, consistency ${d.consistency_level})`,
    };
  };
}

/** The server rejects a bad schema with a better message; this only decides whether --partitions means anything. */
function hasPartitionKey(schema: unknown): boolean {
  const fields = (schema as { fields?: unknown } | null)?.fields;
  return Array.isArray(fields) && fields.some((f) => (f as FieldSchema | null)?.is_partition_key === true);
}

function describeText(d: CollectionDescription): string {
  const head = pairs([
    ["collection", d.collection_name],
    ["id", d.collection_id],
    ["shards", d.num_shards],
    ["partitions", d.num_partitions],
    ["metric", d.metric_type],
    ["consistency", d.consistency_level],
    ["aliases", (d.aliases ?? []).join(", ")],
    ["dynamic", d.schema.enable_dynamic_field],
    ["created", isoTime(d.created_at)],
  ]);
  const fields = table(
    ["name", "type", "primary", "auto_id", "dim", "max_length", "element_type", "max_capacity", "nullable", "default", "partition_key"],
    d.schema.fields.map((f) => [
      f.name,
      f.type,
      f.is_primary === true,
      f.auto_id === true,
      f.dim,
      f.max_length,
      f.element_type,
      f.max_capacity,
      f.nullable === true ? true : undefined,
      defaultCell(f),
      f.is_partition_key === true ? true : undefined,
    ]),
  );
  return `${head}\n\n${fields}`;
}

/** Strings are quoted, so an empty default is told apart from none. */
function defaultCell(f: FieldSchema): unknown {
  return typeof f.default_value === "string" ? JSON.stringify(f.default_value) : f.default_value;
}
