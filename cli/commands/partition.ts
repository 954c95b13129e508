// `vecbus partition ...`.
import { VecbusClient } from "../../runtime/client.js";
import { ClientCommandSpec, lines, Output } from "../command.js";

export function partitionCommands(): ClientCommandSpec[] {
  const named = (verb: string, summary: string, run: (client: VecbusClient, collection_name: string, partition_name: string) => Promise<Output>): ClientCommandSpec => ({
    name: `partition ${verb}`,
    args: "COLLECTION NAME",
    summary,
    positionals: ["COLLECTION", "NAME"],
    plan: (p) => {
      const [collection_name, partition_name] = p.positionals;
      return (client) => run(client, collection_name, partition_name);
    },
  });
  return [
    named("create", "create a partition", async (client, collection_name, partition_name) => {
      const r = await client.call("create_partition", { collection_name, partition_name });
      return { data: r, text: `created partition ${partition_name} in ${collection_name}` };
    }),
    named("drop", "drop a partition and its rows", async (client, collection_name, partition_name) => {
      const r = await client.call("drop_partition", { collection_name, partition_name });
      return { data: r, text: `dropped partition ${partition_name} from ${collection_name}` };
    }),
    named("has", "whether a collection has a partition", async (client, collection_name, partition_name) => {
      const r = await client.call("has_partition", { collection_name, partition_name });
      return { data: r, text: `partition ${partition_name} ${r ? "exists" : "does not exist"} in ${collection_name}` };
    }),
    {
      name: "partition list",
      args: "COLLECTION",
      summary: "list a collection's partitions",
      positionals: ["COLLECTION"],
      plan: (p) => async (client) => {
        const names = await client.call("list_partitions", { collection_name: p.positionals[0] });
        return { data: names, text: lines(names, "(no partitions)") };
      },
    },
  ];
}
