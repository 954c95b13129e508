// A loopback TCP proxy in front of a server, for tests of a broken link: a
// process connected through it can be cut off (its connections closed, as a
// server does to a slow consumer or a network drop), and what travels the
// link just before can be lost on the way, without touching either end.
import net from "node:net";

export interface TcpProxy {
  /** nats://127.0.0.1:PORT of the proxy. */
  url: string;
  /** From now until the next cut(), bytes either way are thrown away: each end believes it sent them. */
  drop(): void;
  /** Closes every connection open now; new ones are accepted and carried as before. */
  cut(): void;
  /** The link is down: open connections are closed and new ones refused, until up(). */
  down(): void;
  up(): void;
  /** The port the proxy listens on. */
  port: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let dropping = false;
  let isDown = false;
  const server = net.createServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(from);
      from.on("data", (d) => {
        if (!dropping) to.write(d);
      });
      from.on("error", () => to.destroy());
      from.on("close", () => {
        open.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    dropping = false;
    // destroy(), not resetAndDestroy(): a reset socket with writes pending kept node from exiting (seen on node 20).
    for (const s of open) s.destroy();
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    drop: () => (dropping = true),
    cut,
    down: () => {
      isDown = true;
      cut();
    },
    up: () => (isDown = false),
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
