// `vecbus user ...`: API users of the serve on this host.
import path from "node:path";
import { API_ROLES } from "../../protocol/roles.js";
import { DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { Command, flag, need, Options, Parsed, str } from "../command.js";
import { DEFAULT_DATA_DIR } from "../connection.js";
import { isSiteDir, siteSettings } from "../nats-auth.js";
import { table } from "../table.js";
import { checkRole, createUser, dropUser, grantRole, listUsers, type UserChange } from "../users.js";

function userDataDir(p: Parsed): string {
  return path.resolve(str(p, "data") ?? process.env.VECBUS_DATA ?? DEFAULT_DATA_DIR);
}

function printUserChange(p: Parsed, data: Record<string, unknown>, text: string, r: UserChange): number {
  if (flag(p, "json")) process.stdout.write(`${JSON.stringify({ ...data, ...r })}\n`);
  else if (!r.changed) console.log(`${text} (it already was: nothing changed)`);
  else console.log(r.reloaded ? `${text} (nats-server told to reload its config: it applies in a moment)` : `${text} (no nats-server runs on this data dir: it takes effect at its next start)`);
  return 0;
}

export function userCommands(): Command[] {
  const common = { data: { type: "string" }, json: { type: "boolean" } } satisfies Options;
  const roles = API_ROLES.join("|");
  return [
    {
      name: "user create",
      args: `NAME --role ${roles} [--password P] [--prefix P] [--data DIR] [--json]`,
      summary: "add an API user (prints its password when one is made)",
      positionals: ["NAME"],
      options: { ...common, role: { type: "string" }, password: { type: "string" }, prefix: { type: "string" } },
      run: async (p) => {
        const role = checkRole(need(p, "role"));
        const dir = userDataDir(p);
        // At a site, its users are for the prefix the site serves.
        const prefix = str(p, "prefix") ?? (isSiteDir(dir) ? siteSettings(dir).prefix : DEFAULT_PREFIX);
        const r = createUser(dir, p.positionals[0], role, str(p, "password"), prefix);
        return printUserChange(p, { user: p.positionals[0], role, password: r.password }, `created user ${p.positionals[0]} (${role}), password ${r.password}`, r);
      },
    },
    {
      name: "user drop",
      args: "NAME [--data DIR] [--json]",
      summary: "remove an API user",
      positionals: ["NAME"],
      options: common,
      run: async (p) => {
        const r = dropUser(userDataDir(p), p.positionals[0]);
        return printUserChange(p, { user: p.positionals[0] }, `dropped user ${p.positionals[0]}`, r);
      },
    },
    {
      name: "user grant",
      args: `NAME ${roles} [--data DIR] [--json]`,
      summary: "give an API user another role",
      positionals: ["NAME", "ROLE"],
      options: common,
      run: async (p) => {
        const role = checkRole(p.positionals[1]);
        const r = grantRole(userDataDir(p), p.positionals[0], role);
        return printUserChange(p, { user: p.positionals[0], role }, `user ${p.positionals[0]} is now ${role}`, r);
      },
    },
    {
      name: "user list",
      args: "[--data DIR] [--json]",
      summary: "list API users and their roles",
      positionals: [],
      options: common,
      run: async (p) => {
        const rows = listUsers(userDataDir(p));
        if (flag(p, "json")) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else console.log(rows.length > 0 ? table(["user", "role", "prefix"], rows.map((r) => [r.user, r.role, r.prefix])) : "no API users");
        return 0;
      },
    },
  ];
}
