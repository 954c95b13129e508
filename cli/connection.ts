// The NATS connection flags every command takes, with the NATS CLI's names:
// where the server is, who to connect as, and TLS. Without credential flags a
// command on the host of a `vecbus serve` uses the credentials in its data
// dir (the superuser for client commands, the role's user for `start`).
import fs from "node:fs";
import path from "node:path";
import type { ParseArgsConfig } from "node:util";
import type { Role } from "../protocol/roles.js";
import { SUPERUSER } from "../protocol/permissions.js";
import { DEFAULT_PREFIX } from "../protocol/subjects.js";
import type { NatsAuth } from "../runtime/connection.js";
import { actorUser, authFile, credentialsOf, isSiteDir, readAuth } from "./nats-auth.js";

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
export const DEFAULT_DATA_DIR = "./vecbus-data";

export const CONNECTION_OPTIONS: NonNullable<ParseArgsConfig["options"]> = {
  server: { type: "string" },
  "nats-url": { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  nkey: { type: "string" },
  creds: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  data: { type: "string" },
};

export const CONNECTION_HELP =
  "--server URL (or --nats-url; default $NATS_URL, $VECBUS_NATS_URL or nats://127.0.0.1:4222), --user U --password P | --nkey SEED_FILE | --creds FILE (NATS operator/JWT mode), --tls-cert F --tls-key F --tls-ca F, --data DIR (a local serve's data dir: its credentials are used when no credential flag is given)";

type Values = Record<string, string | boolean | undefined>;

function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === "string" ? x : undefined;
}

function explicitUrl(v: Values): string | undefined {
  return str(v, "server") ?? str(v, "nats-url") ?? process.env.NATS_URL ?? process.env.VECBUS_NATS_URL;
}

export function natsUrl(v: Values): string {
  return explicitUrl(v) ?? DEFAULT_NATS_URL;
}

/**
 * The data dir whose credentials apply: --data or $VECBUS_DATA when given; else
 * ./vecbus-data when it has a users file and no server was named (then the
 * command talks to that local serve).
 */
function localDataDir(v: Values): string | undefined {
  const given = str(v, "data") ?? process.env.VECBUS_DATA;
  if (given) return path.resolve(given);
  if (explicitUrl(v) === undefined && fs.existsSync(authFile(path.resolve(DEFAULT_DATA_DIR)))) return path.resolve(DEFAULT_DATA_DIR);
  return undefined;
}

/** The credentials from the flags, else from a local data dir (as `role`'s user, or the superuser), else none (anonymous). */
export function natsAuth(v: Values, role?: Role): NatsAuth | undefined {
  const tls =
    str(v, "tls-cert") || str(v, "tls-key") || str(v, "tls-ca") ? { certFile: str(v, "tls-cert"), keyFile: str(v, "tls-key"), caFile: str(v, "tls-ca") } : undefined;
  const user = str(v, "user");
  const flags: NatsAuth = { user, pass: str(v, "password"), nkeyFile: str(v, "nkey"), credsFile: str(v, "creds"), tls };
  if (user === undefined && flags.pass !== undefined) throw new Error("--password needs --user");
  if (user !== undefined || flags.nkeyFile || flags.credsFile) return flags;
  const dir = localDataDir(v);
  // A site's data dir holds its API users only (no superuser): without flags, a command there is anonymous.
  const auth = dir && !isSiteDir(dir) ? readAuth(dir) : undefined;
  if (!auth) return tls ? { tls } : undefined;
  // Actor users are per prefix; a role started with the default prefix takes the default's user.
  const name = role ? actorUser(str(v, "prefix") ?? DEFAULT_PREFIX, role) : SUPERUSER;
  return { ...credentialsOf(auth, name), tls };
}
