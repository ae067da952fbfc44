// A plain Node server (no TypeScript loader) using the installed package.
import { PlumeServer } from 'plume/server';

const server = new PlumeServer({ staticDir: new URL('./dist', import.meta.url).pathname, apiKey: 'consumer-api-key-0123456789' });
const { url } = await server.listen(0, '127.0.0.1');
console.log(`consumer server on ${url}`);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
