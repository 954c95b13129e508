// `vecbus alias ...`.
import { VecbusError } from "../../protocol/errors.js";
import { VecbusClient } from "../../runtime/client.js";
import { ClientCommandSpec, str } from "../command.js";
import { pairs, table } from "../table.js";

export function aliasCommands(): ClientCommandSpec[] {
  const pointing = (verb: "create" | "alter", summary: string): ClientCommandSpec => ({
    name: `alias ${verb}`,
    args: "ALIAS COLLECTION",
    summary,
    positionals: ["ALIAS", "COLLECTION"],
    plan: (p) => {
      const [alias, collection_name] = p.positionals;
      return async (client) => {
        const r = await client.call(`${verb}_alias`, { alias, collection_name });
        return { data: r, text: `${verb === "create" ? "created" : "altered"} alias ${alias} -> ${collection_name}` };
      };
    },
  });
  return [
    pointing("create", "create an alias: another name for a collection"),
    pointing("alter", "point an existing alias at another collection"),
    {
      name: "alias drop",
      args: "ALIAS",
      summary: "drop an alias (the collection stays)",
      positionals: ["ALIAS"],
      plan: (p) => async (client) => {
        const r = await client.call("drop_alias", { alias: p.positionals[0] });
        return { data: r, text: `dropped alias ${p.positionals[0]}` };
      },
    },
    {
      name: "alias describe",
      args: "ALIAS",
      summary: "show the collection an alias names",
      positionals: ["ALIAS"],
      plan: (p) => async (client) => {
        const a = await client.call("describe_alias", { alias: p.positionals[0] });
        return { data: a, text: pairs([["alias", a.alias], ["collection", a.collection_name]]) };
      },
    },
    {
      name: "alias list",
      args: "[--collection NAME]",
      summary: "list aliases, of every collection or of one",
      options: { collection: { type: "string" } },
      plan: (p) => {
        const collection_name = str(p, "collection");
        return async (client) => {
          const r = await client.call("list_aliases", collection_name === undefined ? {} : { collection_name });
          return { data: r, text: await aliasTable(client, r.aliases, r.collection_name) };
        };
      },
    },
  ];
}

/** list_aliases gives names only; for people each is shown with its collection. */
async function aliasTable(client: VecbusClient, aliases: string[], collection?: string): Promise<string> {
  if (aliases.length === 0) return "(no aliases)";
  const targets = await Promise.all(
    aliases.map(async (alias) => {
      if (collection !== undefined) return collection;
      try {
        return (await client.call("describe_alias", { alias })).collection_name;
      } catch (e) {
        // Dropped since the list was read.
        if (e instanceof VecbusError && e.code === "ALIAS_NOT_FOUND") return undefined;
        throw e;
      }
    }),
  );
  const rows = aliases.map((a, i) => [a, targets[i]]).filter(([, c]) => c !== undefined);
  return rows.length === 0 ? "(no aliases)" : table(["alias", "collection"], rows);
}
