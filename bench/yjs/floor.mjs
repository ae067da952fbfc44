/**
 * The floor under fan-out at a low rate: what one `write(2)` per delivery
 * costs on this machine, with nothing else done. At 100 updates/s each
 * update is alone in its event-loop turn, so every server writes it to each
 * editor's socket on its own; no server can deliver more updates per CPU
 * second than this process writes frames of their size.
 *
 * The writer is a bare Node process pinned like the servers (core 0): it
 * accepts `sockets` connections from this process (core 1, which reads and
 * drops everything), then, at `ratePerSec`, writes one `frameBytes` buffer
 * to each socket, for `measureMs`. Its CPU is read from /proc as the
 * servers' is (`cpu.mjs`).
 *
 * Run by `run.mjs` beside part 1; also as its own process (`node
 * bench/yjs/floor.mjs writer`), which is the writer.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startServer } from '../lib/servers.mjs';
import { cpuSeconds } from './cpu.mjs';

/** The writer: listens, then writes on command (`floor <rate> <ms> <bytes> <id>` on stdin). */
async function writer() {
  const sockets = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.push(socket);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log(`listening ${server.address().port}`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, rate, ms, bytes, id] = line.split(' ');
    if (command !== 'floor') continue;
    const frame = Buffer.alloc(Number(bytes), 0x61);
    let writes = 0;
    const started = performance.now();
    await new Promise((done) => {
      const timer = setInterval(() => {
        for (const socket of sockets) socket.write(frame);
        writes += sockets.length;
        if (performance.now() - started >= Number(ms)) {
          clearInterval(timer);
          done();
        }
      }, 1000 / Number(rate));
    });
    console.log(JSON.stringify({ id, writes, sockets: sockets.length }));
  }
}

/**
 * Writes per CPU-second of the bare writer at `ratePerSec` to `sockets` sockets.
 * @returns {Promise<{ writes: number, cpuSec: number, writesPerCpuSec: number, usPerWrite: number }>}
 */
export async function writeFloor({ sockets, ratePerSec, measureMs, frameBytes, pinned }) {
  const child = await startServer(process.execPath, [fileURLToPath(import.meta.url), 'writer'], { pinned });
  const readers = [];
  try {
    for (let i = 0; i < sockets; i++) {
      readers.push(await new Promise((resolve, reject) => {
        const socket = net.connect(child.port, '127.0.0.1', () => resolve(socket));
        socket.once('error', reject);
        socket.on('data', () => {});
      }));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = cpuSeconds(child.pid);
    const { writes } = await child.ask(`floor ${ratePerSec} ${measureMs} ${frameBytes}`);
    const cpuSec = cpuSeconds(child.pid) - before;
    return { writes, cpuSec, writesPerCpuSec: writes / cpuSec, usPerWrite: (cpuSec * 1e6) / writes };
  } finally {
    for (const socket of readers) socket.destroy();
    await child.stop();
  }
}

if (process.argv[2] === 'writer') await writer();
