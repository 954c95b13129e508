// `vecbus user`: API users of a local `vecbus serve` or `vecbus edge` site,
// kept in its data dir's users file. A change rewrites the nats-server config
// (a site's: the users file its leaf node's config includes) and makes the
// running server reload it, so it takes effect without a restart (open
// connections of a dropped user are closed by the server on reload).
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

export function listUsers(dataDir: string): UserRow[] {
  return Object.entries(load(dataDir).users)
    .filter(([, e]) => isApiRole(e.role))
    .map(([user, e]) => ({ user, role: e.role as ApiRole, prefix: e.prefix }));
}
