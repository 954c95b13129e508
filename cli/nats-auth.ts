// The NATS users of a `vecbus serve` data dir, and the nats-server config made
// from them. The users file (`<data>/auth/users.json`, mode 0600 in a 0700
// dir) holds a generated password per actor role and for the superuser
// `admin`, plus the API users made with `vecbus user create`; the config is
// rendered from it on every start and after every user change (which then
// signals nats-server to reload).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { actorPermissions, anonymousPermissions, ANONYMOUS_USER, apiUserPermissions, SUPERUSER, type Permissions } from "../protocol/permissions.js";
import { limit, limitText } from "../protocol/limits.js";
import { ROLES, isApiRole, isRole, type ApiRole, type Role } from "../protocol/roles.js";
import { DEFAULT_PREFIX, Names } from "../protocol/subjects.js";
import type { NatsAuth } from "../runtime/connection.js";

export type UserKind = "superuser" | Role | ApiRole;

export interface UserEntry {
  password: string;
  role: UserKind;
  /** The subject prefix its permissions are written for (`serve --prefix`); the superuser has every prefix. */
  prefix: string;
}

export interface AuthFile {
  format: 1;
  /** Whether connections without credentials are refused (`serve --require-auth`). */
  require_auth: boolean;
  users: Record<string, UserEntry>;
  /** Edge sites' leaf nodes connect here (`serve --leafnode-port`), as LEAF_USER with this password. */
  leafnodes?: { port: number; password: string; advertise?: string };
}

/**
 * Where the hub takes edge sites' leaf nodes (`serve --leafnode-port`), and the
 * address it tells them to come back to (`--leafnode-advertise`): a leaf node
 * reconnects to the addresses the hub advertises as well as the one it was
 * given, and by default the hub advertises its own interfaces, which from a
 * site behind a NAT or a proxy are the wrong way in.
 */
export interface LeafnodeListener {
  port: number;
  advertise?: string;
}

/** The user an edge site's leaf node connects to the hub as. */
export const LEAF_USER = "vecbus-leaf";

/**
 * The user an edge site's own actors connect to its leaf node as. They hold
 * the hub's trust (the leaf link is LEAF_USER's); every other client at the
 * site is one of the site's own API users (`vecbus user create --data
 * SITE-DATA`, kept in the site's users file) or, unless the site requires
 * credentials, the anonymous user: they may call the API, as their role
 * allows, and nothing else, so a process on the site's host cannot write a
 * WAL or reach the hub's JetStream.
 */
export const SITE_USER = "vecbus-site";

/** What a site's data dir keeps of it (`<data>/auth/site.json`, mode 0600): its actors' password, made once, and the subject prefix it last started with. */
export interface SiteSettings {
  password: string;
  prefix: string;
}

/** The site's settings, made on its first start; `prefix` (at a start) replaces the one kept. */
export function siteSettings(dataDir: string, prefix?: string): SiteSettings {
  const file = siteFile(dataDir);
  const kept = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Partial<SiteSettings>) : {};
  const settings = { password: kept.password ?? newPassword(), prefix: prefix ?? kept.prefix ?? DEFAULT_PREFIX };
  if (settings.password !== kept.password || settings.prefix !== kept.prefix) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomically(file, `${JSON.stringify(settings)}\n`);
  }
  return settings;
}

function siteFile(dataDir: string): string {
  return path.join(dataDir, "auth", "site.json");
}

/** Whether a data dir is an edge site's (`vecbus edge`) rather than a hub's (`vecbus serve`): `vecbus user` renders its server's config accordingly. */
export function isSiteDir(dataDir: string): boolean {
  return fs.existsSync(siteFile(dataDir));
}

/** A site's users file for this start: its API users kept, `require_auth` as given (a site has no actor users or superuser of its own: its actors are SITE_USER). */
export function ensureSiteAuth(dataDir: string, requireAuth: boolean): AuthFile {
  const auth: AuthFile = readAuth(dataDir) ?? { format: 1, require_auth: requireAuth, users: {} };
  if (Object.values(auth.users).some((e) => !isApiRole(e.role))) throw new Error(`${dataDir} is a hub's data dir (vecbus serve): give vecbus edge a data dir of its own`);
  auth.require_auth = requireAuth;
  writeAuth(dataDir, auth);
  return auth;
}

/**
 * The site leaf node's authorization: the site's actors (unrestricted, as the
 * leaf link's trust is theirs); the site's API users with their roles'
 * methods of their prefix and replies on their own inbox; and, unless the
 * site requires credentials, the anonymous user with the API of the site's
 * prefix.
 */
export function renderSiteAuthorization(site: SiteSettings, auth: AuthFile): string {
  const actors: [string, UserEntry] = [SITE_USER, { password: site.password, role: "superuser", prefix: site.prefix }];
  const users = Object.entries(auth.users).filter(([, e]) => isApiRole(e.role));
  return [...renderAuthorization([actors, ...users], auth.require_auth ? undefined : [new Names(site.prefix)]), ""].join("\n");
}

/** The hub's JetStream domain once edge sites may connect: actors at a site reach its JetStream through it (`--js-domain`). */
export const HUB_JS_DOMAIN = "hub";

const USER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export function authFile(dataDir: string): string {
  return path.join(dataDir, "auth", "users.json");
}

/** The NATS user an actor role connects as. */
export function actorUser(prefix: string, role: Role): string {
  return `${prefix}-${role}`;
}

/** Hex, not base64url: a password that starts with "-" reads as an option on a command line (`--password -x…`). */
function newPassword(): string {
  return randomBytes(24).toString("hex");
}

export function readAuth(dataDir: string): AuthFile | undefined {
  const file = authFile(dataDir);
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as AuthFile;
  if (parsed?.format !== 1 || typeof parsed.users !== "object" || parsed.users === null) {
    throw new Error(`${file} is not a vecbus users file (format 1); move it away and vecbus serve writes a new one`);
  }
  return parsed;
}

export function writeAuth(dataDir: string, auth: AuthFile): void {
  const dir = path.dirname(authFile(dataDir));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  writeFileAtomically(authFile(dataDir), `${JSON.stringify(auth, null, 2)}\n`);
}

/** Written whole or not at all (a reader never sees half of it; on disk before it replaces the old one), mode 0600; the temp name is the writer's own. */
export function writeFileAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** The data dir's users lock (cli/users-lock.ts): every change of the users file holds it. */
export function usersLockFile(dataDir: string): string {
  return `${authFile(dataDir)}.lock`;
}

/** The users file for this start: existing users kept, a password made for each actor role and the superuser that has none. */
export function ensureAuth(dataDir: string, prefixes: readonly string[], requireAuth: boolean, leafnodes?: LeafnodeListener): AuthFile {
  if (isSiteDir(dataDir)) throw new Error(`${dataDir} is an edge site's data dir (vecbus edge): give vecbus serve a data dir of its own`);
  const auth: AuthFile = readAuth(dataDir) ?? { format: 1, require_auth: requireAuth, users: {} };
  auth.require_auth = requireAuth;
  if (leafnodes) auth.leafnodes = { ...leafnodes, password: auth.leafnodes?.password ?? newPassword() };
  auth.users[SUPERUSER] ??= { password: newPassword(), role: "superuser", prefix: "*" };
  for (const prefix of prefixes) for (const role of ROLES) auth.users[actorUser(prefix, role)] ??= { password: newPassword(), role, prefix };
  writeAuth(dataDir, auth);
  return auth;
}

export function credentialsOf(auth: AuthFile, user: string): NatsAuth {
  const entry = auth.users[user];
  if (!entry) throw new Error(`no NATS user "${user}" in the users file`);
  return { user, pass: entry.password };
}

/** A refusal by the users file's rules (a taken or reserved name, a password it cannot hold): the caller's mistake, not the store's. */
export class UserRuleError extends Error {}

/** Names actor users of any prefix take (`<prefix>-<role>`): an API user so named would become that prefix's actor user once a serve starts with it. */
const ACTOR_SUFFIX = new RegExp(`-(${ROLES.join("|")})$`);
/** Control characters and lone surrogates cannot be written into a nats-server config (its strings take no \\u escapes). */
const UNWRITABLE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A password the config can hold, and that NATS takes as a password (one looking like a bcrypt hash is compared as a hash). */
export function checkPassword(password: string): string {
  if (password === "") throw new UserRuleError("a password may not be empty");
  if (UNWRITABLE.test(password)) throw new UserRuleError("a password may not hold control characters or unpaired surrogates");
  if (/^\$2[abxy]?\$/.test(password)) throw new UserRuleError('a password may not start like a bcrypt hash ("$2a$", "$2b$", ...)');
  return password;
}

/** Adds an API user (a password is made when none is given); refuses names taken by actors, the superuser or anonymous. */
export function addApiUser(auth: AuthFile, name: string, role: ApiRole, prefix: string, password?: string): UserEntry {
  if (!USER_NAME.test(name)) throw new UserRuleError(`user name "${name}" must be 1-32 letters, digits, '_' or '-', starting with a letter`);
  const existing = Object.hasOwn(auth.users, name) ? auth.users[name] : undefined;
  if (name === ANONYMOUS_USER || name === SITE_USER || name === LEAF_USER || ACTOR_SUFFIX.test(name) || (existing && !isApiRole(existing.role))) {
    throw new UserRuleError(`"${name}" is a reserved user name (also every name ending in -${ROLES.join(", -")}: actor users)`);
  }
  if (existing) throw new UserRuleError(`user "${name}" already exists; drop it first or grant it another role`);
  if (Object.values(auth.users).filter((e) => isApiRole(e.role)).length >= limit("apiUsers")) throw new UserRuleError(`${limitText("apiUsers")}: drop one first`);
  const entry = { password: password === undefined ? newPassword() : checkPassword(password), role, prefix };
  auth.users[name] = entry;
  return entry;
}

export function apiUser(auth: AuthFile, name: string): UserEntry {
  const entry = Object.hasOwn(auth.users, name) ? auth.users[name] : undefined;
  if (!entry || !isApiRole(entry.role)) throw new UserRuleError(`no API user "${name}" (vecbus user list shows them)`);
  return entry;
}

function permissionsOf(user: string, e: UserEntry): Permissions | undefined {
  if (e.role === "superuser") return undefined;
  const names = new Names(e.prefix);
  if (isRole(e.role)) return actorPermissions(names, e.role);
  return apiUserPermissions(names, user, e.role);
}

function renderPermissions(p: Permissions): string {
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(", ")}]`;
  return `{ publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} }${p.allowResponses ? ", allow_responses: true" : ""} }`;
}

/** nats-server config: the package's base settings plus every user with its permissions, and the anonymous user unless auth is required. */
/**
 * An `authorization` block with these users (each with its role's
 * permissions, the superuser's unrestricted), and the anonymous user with
 * the API of `anonymous`'s prefixes, unless that is undefined (credentials
 * required).
 */
function renderAuthorization(users: [string, UserEntry][], anonymous: Names[] | undefined): string[] {
  const lines = users.map(([user, e]) => {
    const perms = permissionsOf(user, e);
    return `    { user: ${JSON.stringify(user)}, password: ${JSON.stringify(e.password)}${perms ? `, permissions: ${renderPermissions(perms)}` : ""} }`;
  });
  if (anonymous) lines.push(`    { user: ${JSON.stringify(ANONYMOUS_USER)}, permissions: ${renderPermissions(anonymousPermissions(anonymous))} }`);
  return ["authorization {", "  users: [", ...lines, "  ]", "}", anonymous ? `no_auth_user: ${JSON.stringify(ANONYMOUS_USER)}` : ""];
}

export function renderNatsConfig(base: string, auth: AuthFile): string {
  // Anonymous clients may call the API of every prefix that has actors here.
  const prefixes = [...new Set(Object.values(auth.users).filter((e) => isRole(e.role)).map((e) => e.prefix))].map((p) => new Names(p));
  const leaf = auth.leafnodes;
  // With edge sites the hub's JetStream gets a domain: a leaf node without JetStream reaches it through $JS.<domain>.API.
  const settings = leaf ? base.replace(/^jetstream \{$/m, `jetstream {\n  domain: ${HUB_JS_DOMAIN}`) : base;
  return [
    settings.trimEnd(),
    "",
    ...(leaf
      ? [
          "# Edge sites (vecbus edge --hub nats-leaf://vecbus-leaf:PASSWORD@HOST:PORT): trusted with everything the hub holds.",
          `leafnodes { port: ${leaf.port},${leaf.advertise ? ` advertise: ${JSON.stringify(leaf.advertise)},` : ""} authorization { user: ${JSON.stringify(LEAF_USER)}, password: ${JSON.stringify(leaf.password)} } }`,
          "",
        ]
      : []),
    "# Written by vecbus serve from auth/users.json: edit users with `vecbus user`, not here.",
    ...renderAuthorization(Object.entries(auth.users), auth.require_auth ? undefined : prefixes),
    "",
  ].join("\n");
}

