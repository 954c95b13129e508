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
import type { ApiRole } from "../../protocol/roles.js";
import { API_ROLES, isApiRole } from "../../protocol/roles.js";
import { VecbusError } from "../../protocol/errors.js";
import { limit, limitText } from "../../protocol/limits.js";
import { OK_STATUS } from "./milvus-status.js";

/** What a user is to the front door: an API user's role, the operator's superuser, or unknown. */
export type UserKind = ApiRole | "superuser";

/** The users file of the serve this front door belongs to. */
export interface UserDirectory {
  kindOf(user: string): UserKind | undefined;
  /** API users (not actors, not the superuser), with their roles. */
  list(): { user: string; role: ApiRole }[];
  create(user: string, password: string, role: ApiRole): void;
  drop(user: string): void;
  grant(user: string, role: ApiRole): void;
  setPassword(user: string, password: string): void;
  passwordIs(user: string, password: string): boolean;
}

type Req = Record<string, unknown>;
type Handler = (req: Req) => Promise<Req>;

/** The RPCs of this module: the front door answers them here, not through the NATS API. */
export const USER_RPCS = ["CreateCredential", "UpdateCredential", "DeleteCredential", "ListCredUsers", "SelectUser", "SelectRole", "OperateUserRole"] as const;

/** Milvus's least password length (proxy.minPasswordLength); the most is a limit (protocol/limits.ts). */
const MIN_PASSWORD_CHARS = 6;

/** The handlers for one caller (its NATS user name, "" for anonymous), whose credentials NATS has accepted. */
export function milvusUserHandlers(dir: UserDirectory, caller: string): Record<(typeof USER_RPCS)[number], Handler> {
  const callerKind = caller === "" ? undefined : dir.kindOf(caller);
  const manager = callerKind === "superuser" || callerKind === "admin";
  const mustManage = (what: string) => {
    if (!manager) throw new VecbusError("PERMISSION_DENIED", `${what} needs the superuser or a user of role admin${caller === "" ? " (this call has no credentials)" : `; "${caller}" is ${callerKind ?? "not an API user"}`}`);
  };
  const apiUser = (r: Req, key: string): string => {
    const user = String(r[key] ?? "");
    if (user === "") throw new VecbusError("INVALID_ARGUMENT", `${key} is required`);
    return user;
  };
  const knownApiUser = (user: string): ApiRole => {
    const kind = dir.kindOf(user);
    if (kind === undefined) throw new VecbusError("INVALID_ARGUMENT", `user "${user}" does not exist`);
    if (kind === "superuser") throw new VecbusError("PERMISSION_DENIED", `"${user}" is the operator's superuser: change it in the serve's users file, not through the API`);
    return kind;
  };
  const role = (r: Req): ApiRole => {
    const name = String(r.role_name ?? "");
    if (!isApiRole(name)) throw new VecbusError("INVALID_ARGUMENT", `role "${name}" does not exist: vecbus's roles are ${API_ROLES.join(", ")} (custom roles are not implemented)`);
    return name;
  };
  const userResult = (user: string, withRoles: boolean) => ({ user: { name: user }, roles: withRoles ? [{ name: dir.kindOf(user) === "superuser" ? "admin" : dir.kindOf(user) }] : [] });
  return {
    CreateCredential: async (r) => {
      mustManage("creating a user");
      dir.create(apiUser(r, "username"), password(r.password, "password"), "readonly");
      return OK_STATUS;
    },
    DeleteCredential: async (r) => {
      mustManage("dropping a user");
      const user = apiUser(r, "username");
      knownApiUser(user);
      dir.drop(user);
      return OK_STATUS;
    },
    UpdateCredential: async (r) => {
      const user = apiUser(r, "username");
      knownApiUser(user);
      // Milvus: a user changes its own password with the old one; the managers may change anyone's.
      if (!manager) {
        if (user !== caller) mustManage(`changing the password of "${user}"`);
        if (!dir.passwordIs(user, password(r.oldPassword, "oldPassword", true))) throw new VecbusError("UNAUTHENTICATED", "the old password is not right");
      }
      dir.setPassword(user, password(r.newPassword, "newPassword"));
      return OK_STATUS;
    },
    ListCredUsers: async () => {
      mustManage("listing users");
      return { status: OK_STATUS, usernames: dir.list().map((u) => u.user) };
    },
    SelectUser: async (r) => {
      const user = String((r.user as Req | null)?.name ?? "");
      if (user === "") {
        mustManage("listing users");
        return { status: OK_STATUS, results: dir.list().map((u) => userResult(u.user, r.include_role_info === true)) };
      }
      if (user !== caller) mustManage(`describing user "${user}"`);
      if (dir.kindOf(user) === undefined) throw new VecbusError("INVALID_ARGUMENT", `user "${user}" does not exist`);
      return { status: OK_STATUS, results: [userResult(user, true)] };
    },
    SelectRole: async (r) => {
      mustManage("listing roles");
      const asked = String((r.role as Req | null)?.name ?? "");
      if (asked !== "" && !isApiRole(asked)) throw new VecbusError("INVALID_ARGUMENT", `role "${asked}" does not exist: vecbus's roles are ${API_ROLES.join(", ")}`);
      const users = dir.list();
      return {
        status: OK_STATUS,
        results: (asked === "" ? [...API_ROLES] : [asked]).map((name) => ({
          role: { name },
          users: r.include_user_info === true ? users.filter((u) => u.role === name).map((u) => ({ name: u.user })) : [],
        })),
      };
    },
    OperateUserRole: async (r) => {
      mustManage("granting roles");
      const user = apiUser(r, "username");
      const has = knownApiUser(user);
      const named = role(r);
      if (String(r.type) === "RemoveUserFromRole") {
        if (has !== named) throw new VecbusError("INVALID_ARGUMENT", `user "${user}" is not in role "${named}" (its role is ${has})`);
        dir.grant(user, "readonly");
      } else dir.grant(user, named);
      return OK_STATUS;
    },
  };
}

/** A password as Milvus's SDKs send it (base64), within Milvus's length bounds (an old one is only compared). */
function password(raw: unknown, key: string, old = false): string {
  const text = Buffer.from(String(raw ?? ""), "base64").toString("utf8");
  if (old) return text;
  if (text.length < MIN_PASSWORD_CHARS) throw new VecbusError("INVALID_ARGUMENT", `${key} must be at least ${MIN_PASSWORD_CHARS} characters (base64 in the request, as Milvus's SDKs send it)`);
  if (text.length > limit("milvusPasswordChars")) throw new VecbusError("INVALID_ARGUMENT", `${key}: ${limitText("milvusPasswordChars")}`);
  return text;
}
