// Ending the sessions of processes that died. A session key outlives its
// process by up to the TTL (6 s), and shards, segments and tasks stay with it
// until then; a process whose node subject has no responder is gone (see
// runtime/liveness.ts), so its key is deleted and the sweep that follows
// moves its work at once.
import { SessionKey } from "../../protocol/subjects.js";
import { processGone } from "../../runtime/liveness.js";
import { liveSessions } from "../../runtime/session.js";
import type { CoordinatorState } from "./state.js";

export async function endDeadSessions(co: CoordinatorState): Promise<void> {
  const { ctx } = co;
  await Promise.all(
    (await liveSessions(ctx.sessions)).map(async ({ info: n, revision }) => {
      if (!(await processGone(ctx.nc, ctx.names.nodeSubject(n.role, n.node_id)))) return;
      // Only the key as it was read before the pings: one that restarted under the same id meanwhile keeps its new one.
      await ctx.sessions.delete(SessionKey.node(n.role, n.node_id), { previousSeq: revision }).catch(() => undefined);
      ctx.log.info("a process is gone (no responder on its node subject): ended its session", { role: n.role, node: n.node_id, pid: n.pid });
    }),
  );
}
