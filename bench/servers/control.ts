/**
 * The control line protocol between the bench runner and a server under
 * test, the same for every contender: the server prints `listening <port>`
 * once it accepts sockets, then answers `cpu <id>` and `mem <id>` lines on
 * stdin with one JSON line each on stdout. It exits when stdin ends.
 *
 * Not part of what is measured: the runner asks only at the edges of a
 * measurement window.
 */
import { createInterface } from 'node:readline';

interface Gc {
  gc?: () => void;
}

/** Announces the port and serves `cpu` / `mem` requests until stdin ends. */
export function serveControl(port: number): void {
  process.stdout.write(`listening ${port}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, id] = line.trim().split(' ');
    if (command === 'cpu') {
      const { userCPUTime: user, systemCPUTime: system, minorPageFault: faults } = process.resourceUsage();
      reply(id, { user, system, faults });
    } else if (command === 'mem') {
      const { gc } = globalThis as Gc;
      if (!gc) return reply(id, { error: 'start node with --expose-gc' });
      // Twice: the first pass may leave work (weak callbacks, finalizers) that the second collects.
      gc();
      gc();
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      reply(id, { rss, heapUsed, heapTotal, external, arrayBuffers });
    }
  });
  lines.on('close', () => process.exit(0));
}

function reply(id: string | undefined, body: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ id, ...body })}\n`);
}

/** The `--port` argument, 0 when absent. */
export function portArgument(): number {
  const index = process.argv.indexOf('--port');
  return index === -1 ? 0 : Number(process.argv[index + 1]);
}
