// `vecbus user`: API users of a local `vecbus serve` or `vecbus edge` site,
// kept in its data dir's users file. A change rewrites the nats-server config
// (a site's: the users file its leaf node's config includes) and makes the
// running server reload it, so it takes effect without a restart (open
// connections of a dropped user are closed by the server on reload).
//
// The CLI and a serve's Milvus front door may change the file at once, from
// different processes: each change holds the data dir's users lock from its
// read to its reload, so none is lost and no reader sees half a file.
import { createHash, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { UserDirectory } from "../actors/gateway/milvus-users.js";
import { VecbusError } from "../protocol/errors.js";
import { limit, limitText } from "../protocol/limits.js";
import { API_ROLES, isApiRole, type ApiRole } from "../protocol/roles.js";
import { DEFAULT_PREFIX } from "../protocol/subjects.js";
import { addApiUser, apiUser, authFile, checkPassword, isSiteDir, readAuth, UserRuleError, writeAuth, type AuthFile } from "./nats-auth.js";
import { reloadServer, renderServerConfig, renderSiteUsersConfig } from "./nats-server.js";

export interface UserRow {
  user: string;
  role: ApiRole;
  prefix: string;
}

/** How long a change waits for the users lock, and after how long a lock is taken to be a dead process's. */
const LOCK_WAIT_MS = 5_000;
const LOCK_STALE_MS = 10_000;

function load(dataDir: string): AuthFile {
  const auth = readAuth(dataDir);
  if (!auth) throw new Error(`no users file in ${dataDir}: start vecbus serve (or vecbus edge) --data ${dataDir} once (it writes one), or pass --data`);
  return auth;
}

/** Runs a read-change-write of the users file under the data dir's users lock (a file made with O_EXCL). */
function locked<T>(dataDir: string, change: () => T): T {
  const lock = `${authFile(dataDir)}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, "wx", 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) fs.rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`the users file of ${dataDir} is locked by another change (${path.basename(lock)}); try again`);
      // A change takes milliseconds; waiting blocks this thread briefly, as the change itself does.
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  try {
    return change();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Changes the users file under its lock; `edit` answers false when there is nothing to change (no write, no reload). */
function changeUsers(dataDir: string, edit: (auth: AuthFile) => boolean): { reloaded: boolean } {
  return locked(dataDir, () => {
    const auth = load(dataDir);
    if (!edit(auth)) return { reloaded: false };
    writeAuth(dataDir, auth);
    if (isSiteDir(dataDir)) renderSiteUsersConfig(dataDir, auth);
    else renderServerConfig(dataDir, auth);
    return { reloaded: reloadServer(dataDir) };
  });
}

export function checkRole(role: string): ApiRole {
  if (!isApiRole(role)) throw new Error(`role must be one of ${API_ROLES.join(", ")}; got "${role}"`);
  return role;
}

export function createUser(dataDir: string, name: string, role: ApiRole, password?: string, prefix = DEFAULT_PREFIX): { password: string; reloaded: boolean } {
  let made = "";
  const r = changeUsers(dataDir, (auth) => ((made = addApiUser(auth, name, role, prefix, password).password), true));
  return { password: made, ...r };
}

export function dropUser(dataDir: string, name: string): { reloaded: boolean } {
  return changeUsers(dataDir, (auth) => (apiUser(auth, name), delete auth.users[name]));
}

export function grantRole(dataDir: string, name: string, role: ApiRole): { reloaded: boolean } {
  return changeUsers(dataDir, (auth) => {
    const entry = apiUser(auth, name);
    if (entry.role === role) return false;
    entry.role = role;
    return true;
  });
}

export function setPassword(dataDir: string, name: string, password: string): { reloaded: boolean } {
  return changeUsers(dataDir, (auth) => {
    const entry = apiUser(auth, name);
    if (entry.password === checkPassword(password)) return false;
    entry.password = password;
    return true;
  });
}

export function listUsers(dataDir: string): UserRow[] {
  return Object.entries(load(dataDir).users)
    .filter(([, e]) => isApiRole(e.role))
    .map(([user, e]) => ({ user, role: e.role as ApiRole, prefix: e.prefix }));
}

/**
 * The users file of a serve as its Milvus front door's user directory (the
 * user and role RPCs), for the API users of the prefix the front door serves
 * (and the superuser). A refusal by the file's rules is the caller's
 * INVALID_ARGUMENT; any other failure an INTERNAL error that names no path.
 * Each change reloads the NATS server, so changes are bounded per minute.
 */
export function userDirectory(dataDir: string, prefix = DEFAULT_PREFIX): UserDirectory {
  const changes: number[] = [];
  const change = (what: () => unknown) => {
    const now = Date.now();
    while (changes.length > 0 && now - changes[0] > 60_000) changes.shift();
    if (changes.length >= limit("milvusUserChanges")) throw new VecbusError("RESOURCE_EXHAUSTED", `${limitText("milvusUserChanges")}: try again in a minute`);
    changes.push(now);
    try {
      what();
    } catch (e) {
      if (e instanceof VecbusError) throw e;
      if (e instanceof UserRuleError) throw new VecbusError("INVALID_ARGUMENT", e.message);
      throw new VecbusError("INTERNAL", "the users file could not be changed (the serve's log has no more: see its data dir)");
    }
  };
  const entryOf = (user: string) => {
    const users = load(dataDir).users;
    const e = Object.hasOwn(users, user) ? users[user] : undefined;
    return e && (e.role === "superuser" || (isApiRole(e.role) && e.prefix === prefix)) ? e : undefined;
  };
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return {
    roleOf: (user) => entryOf(user)?.role as ApiRole | "superuser" | undefined,
    list: () => listUsers(dataDir).filter((u) => u.prefix === prefix).map(({ user, role }) => ({ user, role })),
    create: (user, password, role) => change(() => createUser(dataDir, user, role, password, prefix)),
    drop: (user) => change(() => dropUser(dataDir, user)),
    grant: (user, role) => change(() => grantRole(dataDir, user, role)),
    setPassword: (user, password) => change(() => setPassword(dataDir, user, password)),
    passwordIs: (user, password) => {
      const kept = entryOf(user)?.password;
      return kept !== undefined && timingSafeEqual(digest(kept), digest(password));
    },
  };
}
