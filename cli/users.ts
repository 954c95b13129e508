// `vecbus user`: API users of a local `vecbus serve` or `vecbus edge` site,
// kept in its data dir's users file. A change rewrites the nats-server config
// (a site's: the users file its leaf node's config includes) and makes the
// running server reload it, so it takes effect without a restart (open
// connections of a dropped user are closed by the server on reload).
import { timingSafeEqual } from "node:crypto";
import type { UserDirectory } from "../actors/gateway/milvus-users.js";
import { VecbusError } from "../protocol/errors.js";
import { API_ROLES, isApiRole, type ApiRole } from "../protocol/roles.js";
import { DEFAULT_PREFIX } from "../protocol/subjects.js";
import { addApiUser, apiUser, isSiteDir, readAuth, writeAuth, type AuthFile } from "./nats-auth.js";
import { reloadServer, renderServerConfig, renderSiteUsersConfig } from "./nats-server.js";

export interface UserRow {
  user: string;
  role: ApiRole;
  prefix: string;
}

function load(dataDir: string): AuthFile {
  const auth = readAuth(dataDir);
  if (!auth) throw new Error(`no users file in ${dataDir}: start vecbus serve (or vecbus edge) --data ${dataDir} once (it writes one), or pass --data`);
  return auth;
}

function save(dataDir: string, auth: AuthFile): { reloaded: boolean } {
  writeAuth(dataDir, auth);
  if (isSiteDir(dataDir)) renderSiteUsersConfig(dataDir, auth);
  else renderServerConfig(dataDir, auth);
  return { reloaded: reloadServer(dataDir) };
}

export function checkRole(role: string): ApiRole {
  if (!isApiRole(role)) throw new Error(`role must be one of ${API_ROLES.join(", ")}; got "${role}"`);
  return role;
}

export function createUser(dataDir: string, name: string, role: ApiRole, password?: string, prefix = DEFAULT_PREFIX): { password: string; reloaded: boolean } {
  const auth = load(dataDir);
  const entry = addApiUser(auth, name, role, prefix, password);
  return { password: entry.password, ...save(dataDir, auth) };
}

export function dropUser(dataDir: string, name: string): { reloaded: boolean } {
  const auth = load(dataDir);
  apiUser(auth, name);
  delete auth.users[name];
  return save(dataDir, auth);
}

export function grantRole(dataDir: string, name: string, role: ApiRole): { reloaded: boolean } {
  const auth = load(dataDir);
  apiUser(auth, name).role = role;
  return save(dataDir, auth);
}

export function setPassword(dataDir: string, name: string, password: string): { reloaded: boolean } {
  const auth = load(dataDir);
  apiUser(auth, name).password = password;
  return save(dataDir, auth);
}

export function listUsers(dataDir: string): UserRow[] {
  return Object.entries(load(dataDir).users)
    .filter(([, e]) => isApiRole(e.role))
    .map(([user, e]) => ({ user, role: e.role as ApiRole, prefix: e.prefix }));
}

/**
 * The users file of a serve as its Milvus front door's user directory (the
 * user and role RPCs); a refusal of the file's rules (a taken or reserved
 * name) is the caller's INVALID_ARGUMENT.
 */
export function userDirectory(dataDir: string, prefix = DEFAULT_PREFIX): UserDirectory {
  const checked = (change: () => unknown) => {
    try {
      change();
    } catch (e) {
      throw e instanceof VecbusError ? e : new VecbusError("INVALID_ARGUMENT", (e as Error).message);
    }
  };
  return {
    kindOf: (user) => {
      const users = load(dataDir).users;
      const role = Object.hasOwn(users, user) ? users[user].role : undefined;
      if (role === "superuser") return role;
      return role !== undefined && isApiRole(role) ? role : undefined;
    },
    list: () => listUsers(dataDir).map(({ user, role }) => ({ user, role })),
    create: (user, password, role) => checked(() => createUser(dataDir, user, role, password, prefix)),
    drop: (user) => checked(() => dropUser(dataDir, user)),
    grant: (user, role) => checked(() => grantRole(dataDir, user, role)),
    setPassword: (user, password) => checked(() => setPassword(dataDir, user, password)),
    passwordIs: (user, password) => {
      const kept = Buffer.from(load(dataDir).users[user]?.password ?? "");
      const given = Buffer.from(password);
      return kept.length > 0 && kept.length === given.length && timingSafeEqual(kept, given);
    },
  };
}
