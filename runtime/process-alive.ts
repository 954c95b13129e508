// Whether a process still runs, for the pid files and lock files vecbus
// leaves in a data dir (a nats-server child, a users-file change) and the
// scratch directories a data node makes under the system's temporary one.
import fs from "node:fs";

/** Whether a process runs; a zombie (killed, its parent gone, not reaped yet: containers often lack an init that reaps) does not. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it runs, as another user.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
