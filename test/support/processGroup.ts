// Stops a process started with `detached: true` and everything it started (code-server's extension
// host, pty host and file watchers), and waits until all of it is gone.
import type { ChildProcess } from 'child_process';

export async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  const alive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(-child.pid, 'SIGKILL');
}
