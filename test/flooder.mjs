/**
 * A flooding client in a process of its own (so its sending loop does not
 * share an event loop with the clients a test measures): one socket that
 * sends heartbeats as fast as the network takes them until the server closes
 * it, then, like a Plume client after 4420, connects again after a pause
 * and floods again, until `durationMs` is over. Prints one JSON line of what
 * happened and exits.
 *
 * Usage: node test/flooder.mjs <socketUrl> <durationMs> [pauseMs]
 */
import WebSocket from 'ws';

const [socketUrl, durationArg, pauseArg] = process.argv.slice(2);
const until = Date.now() + Number(durationArg);
const pauseMs = Number(pauseArg ?? 2000);
const report = { connections: 0, sent: 0, ok: 0, otherReplies: 0, closes: {} };
const BATCH = 500;
const FRAME = (ref) => `[null,"${ref}","phoenix","heartbeat",{}]`;

function flood() {
  if (Date.now() >= until) return finish();
  report.connections++;
  const ws = new WebSocket(`${socketUrl}?vsn=2.0.0&name=flooder`);
  let open = false;
  const pump = () => {
    if (!open || Date.now() >= until) return;
    // Keep a megabyte in flight at most, so the flooder measures the server, not its own memory.
    if (ws.bufferedAmount < 1024 * 1024) for (let i = 0; i < BATCH; i++) ws.send(FRAME(`f${report.sent++}`));
    setImmediate(pump);
  };
  ws.on('open', () => {
    open = true;
    pump();
  });
  ws.on('message', (data) => {
    const text = data.toString();
    if (text.includes('"status":"ok"')) report.ok++;
    else report.otherReplies++;
  });
  ws.on('error', () => {});
  ws.on('close', (code) => {
    open = false;
    report.closes[code] = (report.closes[code] ?? 0) + 1;
    if (Date.now() + pauseMs < until) setTimeout(flood, pauseMs);
    else finish();
  });
  setTimeout(() => ws.readyState === WebSocket.OPEN && ws.close(1000), Math.max(0, until - Date.now())).unref();
}

let done = false;
function finish() {
  if (done) return;
  done = true;
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

flood();
