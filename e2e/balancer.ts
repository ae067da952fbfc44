/**
 * A TCP load balancer for the cluster spec, as a deployment puts in front
 * of its nodes: each connection goes to the node its route prefers, or to
 * the next one that accepts when that node is down. Routing looks at the
 * request line only (for example `name=Bruno` in a socket's URL).
 *
 * Not an HTTP proxy: bytes pass through unchanged, WebSocket upgrades included.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Picks the preferred backend index for a connection from its first bytes' request line. */
export type Route = (requestLine: string) => number;

/**
 * @example
 * const lb = await Balancer.start([4001, 4002], (line) => (line.includes('name=Bruno') ? 1 : 0));
 * lb.url // http://127.0.0.1:<port>
 */
export class Balancer {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static start(backends: number[], route: Route): Promise<Balancer> {
    const server = createServer();
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const balancer = new Balancer(server, typeof address === 'object' && address ? address.port : 0);
        server.on('connection', (client) => balancer.accept(client, backends, route));
        resolve(balancer);
      });
    });
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, backends: number[], route: Route): void {
    this.track(client);
    client.once('data', (first: Buffer) => {
      client.pause();
      const line = first.toString('latin1', 0, Math.min(first.length, 2048)).split('\r\n')[0] ?? '';
      const preferred = route(line) % backends.length;
      const order = backends.map((_, i) => backends[(preferred + i) % backends.length]!);
      this.forward(client, first, order);
    });
  }

  /** Connects to the first backend of `order` that accepts, and pipes both ways. */
  private forward(client: Socket, first: Buffer, order: number[]): void {
    const [port, ...rest] = order;
    if (port === undefined) return void client.destroy();
    const upstream = connect(port, '127.0.0.1');
    this.track(upstream);
    let connected = false;
    upstream.on('error', () => {
      // Refused (the node is down): the next one. Lost later: the client sees its connection drop.
      if (!connected) this.forward(client, first, rest);
      else client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      client.on('error', () => upstream.destroy());
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}
