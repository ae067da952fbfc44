/**
 * A server's CPU time read from outside it: the sum over its threads of
 * the time each spent on a CPU (`/proc/<pid>/task/<tid>/schedstat`, in
 * nanoseconds). Asking the server itself (the control line's `cpu`) is
 * answered only when its event loop gets to it, which for a server with a
 * backlog is long after the moment asked about.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds used so far by the threads of `pid` that are alive. Linux only. */
export function cpuSeconds(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read: its time is lost either way.
    }
  }
  return ns / 1e9;
}
