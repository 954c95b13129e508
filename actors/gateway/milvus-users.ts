// Milvus's user and role RPCs over vecbus's API users. vecbus's users are
// NATS users, kept in the users file of the `vecbus serve` that runs the NATS
// server (cli/users.ts): only a front door started by that serve holds the
// file (a UserDirectory); elsewhere these RPCs answer "not implemented".
//
// Milvus's model mapped onto vecbus's:
// - roles are vecbus's three built-in API roles (admin, readwrite, readonly);
//   a user has exactly one, so adding a user to a role replaces its role, and
//   removing it from its role leaves it `readonly`, the least one. Custom
//   roles and privileges (CreateRole, OperatePrivilege, ...) are not
//   implemented.
// - a user made by CreateCredential is `readonly` (Milvus's new users have the
//   `public` role, which cannot search; vecbus has no role below readonly).
// - who may: the superuser and `admin` users manage users and roles; any user
//   may change its own password (giving the old one) and describe itself.
//   Who calls is checked against the users file on every call, so a password
//   changed a moment ago no longer manages anything, whatever connections
//   the front door still holds for it.
//
// The rules live in MilvusUsers, over plain-text passwords; the gRPC RPCs
// (passwords in base64, as the SDKs send them there) and the REST routes are
// adapters of it.
import type { ApiRole } from "../../protocol/roles.js";
import { API_ROLES, isApiRole } from "../../protocol/roles.js";
import { VecbusError } from "../../protocol/errors.js";
import { limit, limitText } from "../../protocol/limits.js";
import { OK_STATUS } from "./milvus-status.js";

/** A user's standing in the users file: an API user's role, or the operator's superuser. */
export type DirectoryRole = ApiRole | "superuser";

/** The users file of the serve this front door belongs to: the superuser and the API users of the prefix it serves. */
export interface UserDirectory {
  roleOf(user: string): DirectoryRole | undefined;
  list(): { user: string; role: ApiRole }[];
  /** Each change settles once NATS has applied it: a client may then connect as the user, or no longer. */
  create(user: string, password: string, role: ApiRole): Promise<void>;
  drop(user: string): Promise<void>;
  grant(user: string, role: ApiRole): Promise<void>;
  /** `own`: the user changes its own password (bounded per user, apart from the managers' changes). */
  setPassword(user: string, password: string, own: boolean): Promise<void>;
  passwordIs(user: string, password: string): boolean;
}

/** Who calls: the user and password its credentials name (NATS has accepted them), or undefined without credentials. */
export type Caller = { user: string; password: string } | undefined;

/** Milvus's least password length (proxy.minPasswordLength); the most is a limit (protocol/limits.ts). */
const MIN_PASSWORD_CHARS = 6;

export class MilvusUsers {
  private readonly callerRole: DirectoryRole | undefined;

  constructor(
    private readonly dir: UserDirectory,
    private readonly caller: Caller,
    /** Drops the front door's connections of a user with other passwords than `kept` (callers.ts Callers.forget). */
    private readonly forget: (user: string, kept?: string) => void,
  ) {
    this.callerRole = caller && dir.passwordIs(caller.user, caller.password) ? dir.roleOf(caller.user) : undefined;
  }

  private get manager(): boolean {
    return this.callerRole === "superuser" || this.callerRole === "admin";
  }

  private mustManage(what: string): void {
    if (this.manager) return;
    const who = this.caller === undefined ? "this call has no credentials" : this.callerRole === undefined ? `"${this.caller.user}" is not a user of this front door (or its password changed)` : `"${this.caller.user}" is ${this.callerRole}`;
    throw new VecbusError("PERMISSION_DENIED", `${what} needs the superuser or a user of role admin; ${who}`);
  }

  /** The role of an API user the managers may change; the superuser is the operator's. */
  private apiRoleOf(user: string): ApiRole {
    const role = this.dir.roleOf(user);
    if (role === undefined) throw new VecbusError("INVALID_ARGUMENT", `user "${user}" does not exist`);
    if (role === "superuser") throw new VecbusError("PERMISSION_DENIED", `"${user}" is the operator's superuser: change it in the serve's users file, not through the API`);
    return role;
  }

  async create(user: string, password: string): Promise<void> {
    this.mustManage("creating a user");
    await this.dir.create(named(user), newPassword(password, "password"), "readonly");
  }

  async drop(user: string): Promise<void> {
    this.mustManage("dropping a user");
    this.apiRoleOf(named(user));
    // Also when the change failed after the file was written (a reload not confirmed): a fresh connection costs little.
    try {
      await this.dir.drop(user);
    } finally {
      this.forget(user);
    }
  }

  /** Milvus: a user changes its own password with the old one; the managers may change anyone's. */
  async updatePassword(user: string, oldPassword: string, password: string): Promise<void> {
    const own = this.caller !== undefined && named(user) === this.caller.user && this.callerRole !== undefined;
    if (!this.manager) {
      // Checked before the user's existence, so a caller learns nothing of other users.
      if (!own) this.mustManage(`changing the password of "${user}"`);
      if (!this.dir.passwordIs(user, oldPassword)) throw new VecbusError("UNAUTHENTICATED", "the old password is not right");
    }
    this.apiRoleOf(named(user));
    const next = newPassword(password, "newPassword");
    try {
      await this.dir.setPassword(user, next, own);
    } finally {
      this.forget(user, next);
    }
  }

  users(): { user: string; role: ApiRole }[] {
    this.mustManage("listing users");
    return this.dir.list();
  }

  /** A user and its role; none (as Milvus) for a user that does not exist. */
  describe(user: string): { user: string; role: string }[] {
    if (this.caller?.user !== named(user) || this.callerRole === undefined) this.mustManage(`describing user "${user}"`);
    const role = this.dir.roleOf(user);
    return role === undefined ? [] : [{ user, role: role === "superuser" ? "admin" : role }];
  }

  /** vecbus's roles (or the one named), each with its users. */
  roles(name: string): { role: ApiRole; users: string[] }[] {
    this.mustManage("listing roles");
    const asked = name === "" ? [...API_ROLES] : [roleNamed(name)];
    const users = this.dir.list();
    return asked.map((role) => ({ role, users: users.filter((u) => u.role === role).map((u) => u.user) }));
  }

  async grant(user: string, role: string): Promise<void> {
    this.mustManage("granting roles");
    this.apiRoleOf(named(user));
    await this.dir.grant(user, roleNamed(role));
  }

  /** Removing a user from its role leaves it readonly; from a role it is not in, nothing (as Milvus). */
  async revoke(user: string, role: string): Promise<void> {
    this.mustManage("revoking roles");
    if (this.apiRoleOf(named(user)) === roleNamed(role)) await this.dir.grant(user, "readonly");
  }
}

function named(user: string): string {
  if (user === "") throw new VecbusError("INVALID_ARGUMENT", "a user name is required");
  return user;
}

function roleNamed(name: string): ApiRole {
  if (!isApiRole(name)) throw new VecbusError("INVALID_ARGUMENT", `role "${name}" does not exist: vecbus's roles are ${API_ROLES.join(", ")} (custom roles are not implemented)`);
  return name;
}

function newPassword(text: string, key: string): string {
  if (text.length < MIN_PASSWORD_CHARS) throw new VecbusError("INVALID_ARGUMENT", `${key} must be at least ${MIN_PASSWORD_CHARS} characters`);
  if (text.length > limit("milvusPasswordChars")) throw new VecbusError("INVALID_ARGUMENT", `${key}: ${limitText("milvusPasswordChars")}`);
  return text;
}

type Req = Record<string, unknown>;

/** The gRPC RPCs: the front door answers them here, not through the NATS API. */
export const USER_RPCS = ["CreateCredential", "UpdateCredential", "DeleteCredential", "ListCredUsers", "SelectUser", "SelectRole", "OperateUserRole"] as const;
export type UserRpc = (typeof USER_RPCS)[number];

export function isUserRpc(method: string): method is UserRpc {
  return (USER_RPCS as readonly string[]).includes(method);
}

/** A password as Milvus's SDKs send it over gRPC: base64. */
const base64Text = (raw: unknown) => Buffer.from(String(raw ?? ""), "base64").toString("utf8");

/** One user RPC, with Milvus's request and reply shapes. */
export async function milvusUserRpc(users: MilvusUsers, method: UserRpc, r: Req): Promise<Req> {
  const str = (v: unknown) => String(v ?? "");
  switch (method) {
    case "CreateCredential":
      return await users.create(str(r.username), base64Text(r.password)), OK_STATUS;
    case "DeleteCredential":
      return await users.drop(str(r.username)), OK_STATUS;
    case "UpdateCredential":
      return await users.updatePassword(str(r.username), base64Text(r.oldPassword), base64Text(r.newPassword)), OK_STATUS;
    case "ListCredUsers":
      return { status: OK_STATUS, usernames: users.users().map((u) => u.user) };
    case "SelectUser": {
      const user = str((r.user as Req | null)?.name);
      const found = user === "" ? users.users() : users.describe(user);
      return { status: OK_STATUS, results: found.map((u) => ({ user: { name: u.user }, roles: r.include_role_info === true || user !== "" ? [{ name: u.role }] : [] })) };
    }
    case "SelectRole":
      return {
        status: OK_STATUS,
        results: users.roles(str((r.role as Req | null)?.name)).map((x) => ({ role: { name: x.role }, users: r.include_user_info === true ? x.users.map((name) => ({ name })) : [] })),
      };
    case "OperateUserRole":
      if (str(r.type) === "RemoveUserFromRole") await users.revoke(str(r.username), str(r.role_name));
      else await users.grant(str(r.username), str(r.role_name));
      return OK_STATUS;
  }
}
