// `vecbus user`: API users of a local `vecbus serve` or `vecbus edge` site,
// kept in its data dir's users file. A change rewrites the nats-server config
// (a site's: the users file its leaf node's config includes) and makes the
// running server reload it, so it takes effect without a restart (open
// connections of a dropped user are closed by the server on reload).
//
// The CLI, a serve's start and its Milvus front door may change the file at
// once, from different processes: each change holds the data dir's users
// lock (cli/users-lock.ts) from its read to its reload, so none is lost, and
// every file is replaced whole, so no reader sees half of one.
import { createHash, timingSafeEqual } from "node:crypto";
import type { DirectoryRole, UserDirectory } from "../actors/gateway/milvus-users.js";
import { VecbusError } from "../protocol/errors.js";
import { limit, limitText, type LimitName } from "../protocol/limits.js";
import { API_ROLES, isApiRole, type ApiRole } from "../protocol/roles.js";
import { DEFAULT_PREFIX } from "../protocol/subjects.js";
import { addApiUser, apiUser, checkPassword, isSiteDir, readAuth, UserRuleError, usersLockFile, writeAuth, type AuthFile } from "./nats-auth.js";
import { reloadServer, renderServerConfig, renderSiteUsersConfig } from "./nats-server.js";
import { LockBusyError, withFileLock } from "./users-lock.js";

export interface UserRow {
  user: string;
  role: ApiRole;
  prefix: string;
}

/** How long a change from the CLI waits for the users lock (the front door does not wait: it answers UNAVAILABLE). */
const LOCK_WAIT_MS = 5_000;

function load(dataDir: string): AuthFile {
  const auth = readAuth(dataDir);
  if (!auth) throw new Error(`no users file in ${dataDir}: start vecbus serve (or vecbus edge) --data ${dataDir} once (it writes one), or pass --data`);
  return auth;
}

/** What a change did: whether it changed the file, and whether a running nats-server was told to reload it. */
export interface UserChange {
  changed: boolean;
  reloaded: boolean;
}

/** An edit of the users file: false when there is nothing to change (no write, no reload). */
type Edit = (auth: AuthFile) => boolean;

/** Makes the running nats-server read its config again; settles once it has applied it (cli/nats-server.ts NatsServer.reload). */
export type Reload = () => Promise<void>;

/**
 * Changes the users file under the data dir's users lock (cli/users-lock.ts),
 * from its read to its reload: signalled by pid, or through `reload`, whose
 * promise (`applied`) the caller awaits after the lock.
 */
function changeUsers(dataDir: string, edit: Edit, waitMs = LOCK_WAIT_MS, reload?: Reload): UserChange & { applied?: Promise<void> } {
  // Before the lock, which would make the auth dir: a data dir without a users file gets load's message.
  load(dataDir);
  return withFileLock(usersLockFile(dataDir), waitMs, () => {
    const auth = load(dataDir);
    if (!edit(auth)) return { changed: false, reloaded: false };
    writeAuth(dataDir, auth);
    if (isSiteDir(dataDir)) renderSiteUsersConfig(dataDir, auth);
    else renderServerConfig(dataDir, auth);
    if (reload) return { changed: true, reloaded: true, applied: reload() };
    return { changed: true, reloaded: reloadServer(dataDir) };
  });
}

/** Adds an API user; `made` learns its password (made here when none is given). */
const createEdit =
  (name: string, role: ApiRole, prefix: string, password?: string, made?: (password: string) => void): Edit =>
  (auth) => {
    const entry = addApiUser(auth, name, role, prefix, password);
    made?.(entry.password);
    return true;
  };

const dropEdit =
  (name: string): Edit =>
  (auth) => (apiUser(auth, name), delete auth.users[name]);

const grantEdit =
  (name: string, role: ApiRole): Edit =>
  (auth) => {
    const entry = apiUser(auth, name);
    if (entry.role === role) return false;
    entry.role = role;
    return true;
  };

const passwordEdit =
  (name: string, password: string): Edit =>
  (auth) => {
    const entry = apiUser(auth, name);
    if (entry.password === checkPassword(password)) return false;
    entry.password = password;
    return true;
  };

export function checkRole(role: string): ApiRole {
  if (!isApiRole(role)) throw new Error(`role must be one of ${API_ROLES.join(", ")}; got "${role}"`);
  return role;
}

export function createUser(dataDir: string, name: string, role: ApiRole, password?: string, prefix = DEFAULT_PREFIX): UserChange & { password: string } {
  let made = "";
  const r = changeUsers(dataDir, createEdit(name, role, prefix, password, (p) => (made = p)));
  return { password: made, ...r };
}

export function dropUser(dataDir: string, name: string): UserChange {
  return changeUsers(dataDir, dropEdit(name));
}

export function grantRole(dataDir: string, name: string, role: ApiRole): UserChange {
  return changeUsers(dataDir, grantEdit(name, role));
}

export function setPassword(dataDir: string, name: string, password: string): UserChange {
  return changeUsers(dataDir, passwordEdit(name, password));
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
 * INVALID_ARGUMENT, a change while another holds the users lock UNAVAILABLE
 * (the front door does not wait: its thread runs every actor of the serve),
 * any other failure INTERNAL without a path (logged on stderr). Each change
 * reloads the NATS server (`reload`: the serve's, which it launched) and is
 * answered once the server has applied it; so changes that write are bounded
 * per minute: the managers' together, users' changes of their own passwords
 * together and by user.
 */
export function userDirectory(dataDir: string, reload: Reload, prefix = DEFAULT_PREFIX): UserDirectory {
  // The managers' changes and users' changes of their own passwords are bounded apart, so users cannot use up the managers'.
  const written = { managed: [] as number[], own: [] as number[] };
  const ownChanges = new Map<string, number[]>();
  const within = (times: number[], name: LimitName) => {
    const now = Date.now();
    while (times.length > 0 && now - times[0] > 60_000) times.shift();
    if (times.length >= limit(name)) throw new VecbusError("RESOURCE_EXHAUSTED", `${limitText(name)}: try again in a minute`);
  };
  const guarded = <T>(what: () => T): T => {
    try {
      return what();
    } catch (e) {
      if (e instanceof VecbusError) throw e;
      if (e instanceof UserRuleError) throw new VecbusError("INVALID_ARGUMENT", e.message);
      if (e instanceof LockBusyError) throw new VecbusError("UNAVAILABLE", "the users file is being changed by another process: try again");
      process.stderr.write(`the Milvus front door could not use the users file: ${(e as Error).stack ?? String(e)}\n`);
      throw new VecbusError("INTERNAL", "the users file could not be read or changed (the serve's log says why)");
    }
  };
  const change = async (edit: Edit, own?: string) => {
    const applied = guarded(() => {
      const all = own === undefined ? written.managed : written.own;
      within(all, "milvusUserChanges");
      const mine = own === undefined ? undefined : (ownChanges.get(own) ?? []);
      if (mine) within(mine, "milvusOwnPasswordChanges");
      const done = changeUsers(dataDir, edit, 0, reload);
      if (!done.changed) return undefined;
      all.push(Date.now());
      if (mine && own !== undefined) {
        mine.push(Date.now());
        ownChanges.set(own, mine);
        if (ownChanges.size > limit("apiUsers")) ownChanges.delete(ownChanges.keys().next().value!);
      }
      return done.applied;
    });
    // Answered once NATS takes the change: a client told "created" may connect as the user at once.
    await applied?.catch((e: unknown) => {
      process.stderr.write(`the Milvus front door changed the users file, but: ${(e as Error).message}\n`);
      throw new VecbusError("INTERNAL", "the users file was changed, but the NATS server has not applied it (the serve's log says why)");
    });
  };
  const entryOf = (user: string) => {
    const users = load(dataDir).users;
    const e = Object.hasOwn(users, user) ? users[user] : undefined;
    return e && (e.role === "superuser" || (isApiRole(e.role) && e.prefix === prefix)) ? e : undefined;
  };
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return {
    roleOf: (user) => guarded(() => entryOf(user)?.role as DirectoryRole | undefined),
    list: () => guarded(() => listUsers(dataDir).filter((u) => u.prefix === prefix).map(({ user, role }) => ({ user, role }))),
    create: (user, password, role) => change(createEdit(user, role, prefix, password)),
    drop: (user) => change(dropEdit(user)),
    grant: (user, role) => change(grantEdit(user, role)),
    setPassword: (user, password, own) => change(passwordEdit(user, password), own ? user : undefined),
    passwordIs: (user, password) =>
      guarded(() => {
        const kept = entryOf(user)?.password;
        return kept !== undefined && timingSafeEqual(digest(kept), digest(password));
      }),
  };
}
