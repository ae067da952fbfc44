import { CONTENDERS } from './lib/contenders.mjs';
import { bundleServers, pinning, startServer } from './lib/servers.mjs';
import { longPollPart } from './lib/longpoll.mjs';
const pin = pinning();
const files = await bundleServers([CONTENDERS.plume.entry]);
const withServer = async (key, body) => {
  const server = await startServer(process.execPath, ['--expose-gc', files[CONTENDERS[key].entry], '--port', '0'], { pinned: pin.pinned });
  try { return await body(server); } finally { await server.stop(); }
};
const r = await longPollPart(withServer, { perRoom: Number(process.argv[2]), payloadBytes: 200, ratePerSec: Number(process.argv[3]), warmupMs: 1000, measureMs: 3000 });
process.exit(0);
