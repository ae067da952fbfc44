/**
 * `/metrics` on a port of its own (`metricsPort`): for a Prometheus that
 * scrapes a private address while the server's port faces the internet.
 * Serves nothing else, and asks for no key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A listening metrics port. */
export interface MetricsPort {
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * @example const port = await listenMetrics(9464, '127.0.0.1', (req, res) => api.handleMetricsOnly(req, res));
 */
export function listenMetrics(port: number, host: string, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<MetricsPort> {
  const server: Server = createServer(handle);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/metrics`,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
