// What each kind of NATS user may publish and subscribe to: the security model
// of a vecbus deployment, written once from the subject names. `vecbus serve`
// renders it into the nats-server config; the README's "Security" section
// describes the same table in words.
//
// NATS wildcards match whole tokens only, and stream names are single tokens
// (`<prefix>_WAL_<cid>_<shard>`), so a role that creates, reads or purges WAL
// streams of any collection is granted that JetStream API call on every stream
// (`*`). The roles that do not touch WAL streams (proxy, query, data) name
// their streams exactly.
import { methodsOf, type ApiRole, type Role } from "./roles.js";
import type { Names } from "./subjects.js";

export interface Permissions {
  publish: string[];
  subscribe: string[];
  /** May publish to the reply subject of a request it received (a responder), and nowhere else beyond `publish`. */
  allowResponses: boolean;
}

/** The user a connection without credentials becomes (NATS `no_auth_user`), unless the server requires auth. */
export const ANONYMOUS_USER = "anonymous";
/** The user with every permission: the operator's, its credentials in the data dir. */
export const SUPERUSER = "admin";

/** The inbox prefix of an actor role: replies to it travel where no API client may subscribe. */
export function actorInbox(names: Names, role: Role): string {
  return `_VB.${names.prefix}.actor.${role}`;
}

/** The inbox prefix of a named API user: its replies are its own, not readable by anonymous clients. */
export function userInbox(names: Names, user: string): string {
  return `_VB.${names.prefix}.user.${user}`;
}

const JS = "$JS.API";

/** Reading a stream: info, single-message gets, ordered and pull consumers with their acks and flow control. */
function streamRead(stream: string): string[] {
  return [
    `${JS}.STREAM.INFO.${stream}`,
    `${JS}.STREAM.MSG.GET.${stream}`,
    `${JS}.DIRECT.GET.${stream}`,
    `${JS}.DIRECT.GET.${stream}.>`,
    `${JS}.CONSUMER.CREATE.${stream}`,
    `${JS}.CONSUMER.CREATE.${stream}.>`,
    `${JS}.CONSUMER.INFO.${stream}.>`,
    `${JS}.CONSUMER.DELETE.${stream}.>`,
    `${JS}.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

/** Reading and writing an object store bucket (chunks and meta subjects; a delete purges the object's chunks). */
function objectsWrite(names: Names): string[] {
  const stream = `OBJ_${names.objectBucket()}`;
  return [...streamRead(stream), `${JS}.STREAM.CREATE.${stream}`, `${JS}.STREAM.PURGE.${stream}`, `$O.${names.objectBucket()}.>`];
}

function objectsRead(names: Names): string[] {
  const stream = `OBJ_${names.objectBucket()}`;
  return [...streamRead(stream), `${JS}.STREAM.CREATE.${stream}`];
}

/** Meta bucket writes: compare-and-set puts and deletes of its keys. */
function metaWrite(names: Names): string[] {
  return [`$KV.${names.metaBucket()}.>`];
}

/** What every actor needs: both buckets readable (and created if missing), its own session key heart-beaten. */
function actorCommon(names: Names, role: Role): Permissions {
  const kvMeta = `KV_${names.metaBucket()}`;
  const kvSessions = `KV_${names.sessionBucket()}`;
  return {
    publish: [
      `${JS}.INFO`,
      ...streamRead(kvMeta),
      ...streamRead(kvSessions),
      `${JS}.STREAM.CREATE.${kvMeta}`,
      `${JS}.STREAM.CREATE.${kvSessions}`,
      `$KV.${names.sessionBucket()}.nodes.${role}.>`,
    ],
    subscribe: [`${actorInbox(names, role)}.>`, `${names.prefix}.int.node.${role}.>`],
    allowResponses: true,
  };
}

const ACTOR_EXTRA: Record<Role, (n: Names) => Pick<Permissions, "publish" | "subscribe">> = {
  proxy: (n) => ({
    // int.node: status asks every actor for its load; int.edge: a site's proxy reads from the site's edge replicas.
    publish: [n.coordinatorSubject(), `${n.prefix}.int.shard.>`, `${n.prefix}.int.node.>`, `${n.prefix}.int.edge.>`],
    subscribe: [n.apiWildcard()],
  }),
  coordinator: (n) => ({
    publish: [
      ...metaWrite(n),
      `$KV.${n.sessionBucket()}.lease.>`,
      // Ends the session of a process that no longer answers pings on its node subject.
      `$KV.${n.sessionBucket()}.nodes.>`,
      `${n.prefix}.int.node.>`,
      `${n.prefix}.int.shard.>`,
      n.taskWildcard(),
      // Creates and deletes the WAL streams of every collection, and the task stream.
      `${JS}.STREAM.CREATE.*`,
      `${JS}.STREAM.DELETE.*`,
      `${JS}.STREAM.INFO.*`,
      // The task stream and meta bucket of an earlier release get their byte bounds.
      `${JS}.STREAM.UPDATE.${n.taskStream()}`,
      `${JS}.STREAM.UPDATE.KV_${n.metaBucket()}`,
      ...objectsWrite(n),
    ],
    subscribe: [n.coordinatorSubject()],
  }),
  streaming: (n) => ({
    // Purges WAL streams below their checkpoint; gives a WAL stream of an earlier release its byte bound.
    publish: [...metaWrite(n), `${n.prefix}.wal.>`, n.coordinatorSubject(), `${n.prefix}.int.query.>`, ...streamRead("*"), `${JS}.STREAM.PURGE.*`, `${JS}.STREAM.UPDATE.*`, ...objectsWrite(n)],
    subscribe: [`${n.prefix}.int.shard.>`],
  }),
  query: (n) => ({
    publish: [...metaWrite(n), ...objectsRead(n)],
    subscribe: [`${n.prefix}.int.query.>`],
  }),
  edge: (n) => ({
    // Follows every WAL stream (ordered consumers) and reads segment objects; writes nothing.
    publish: [...streamRead("*"), ...objectsRead(n)],
    subscribe: [`${n.prefix}.int.edge.>`],
  }),
  data: (n) => ({
    publish: [
      ...metaWrite(n),
      `${n.prefix}.int.shard.>`,
      ...streamRead(n.taskStream()),
      `${JS}.STREAM.CREATE.${n.taskStream()}`,
      `${JS}.STREAM.UPDATE.${n.taskStream()}`,
      `${JS}.CONSUMER.DURABLE.CREATE.${n.taskStream()}.>`,
      ...objectsWrite(n),
    ],
    subscribe: [],
  }),
};

export function actorPermissions(names: Names, role: Role): Permissions {
  const common = actorCommon(names, role);
  const extra = ACTOR_EXTRA[role](names);
  return { publish: [...common.publish, ...extra.publish], subscribe: [...common.subscribe, ...extra.subscribe], allowResponses: true };
}

/** Whether a NATS subject matches a permission pattern (`*` one token, `>` the rest). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** Whether a role may publish to a subject, as nats-server decides it from actorPermissions. */
export function rolePublishes(names: Names, role: Role): (subject: string) => boolean {
  const allowed = actorPermissions(names, role).publish;
  const known = new Map<string, boolean>();
  return (subject) => {
    let ok = known.get(subject);
    if (ok === undefined) known.set(subject, (ok = allowed.some((p) => subjectMatches(p, subject))));
    return ok;
  };
}

/** A named API user: its role's methods, replies on its own inbox prefix. */
export function apiUserPermissions(names: Names, user: string, role: ApiRole): Permissions {
  return { publish: methodsOf(role).map((m) => names.apiSubject(m)), subscribe: [`${userInbox(names, user)}.>`], allowResponses: false };
}

/** A connection without credentials: every API method, replies on the shared `_INBOX` (so other anonymous clients could read them: use a named user for private replies). */
export function anonymousPermissions(names: readonly Names[]): Permissions {
  return { publish: names.map((n) => n.apiWildcard()), subscribe: ["_INBOX.>"], allowResponses: false };
}
