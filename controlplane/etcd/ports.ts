// Free TCP ports on the loopback interface, for etcd's client and peer
// listeners (and for tests that need a port before they start a server).

import { createServer, type Server } from 'node:net';

/** One TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/**
 * `count` distinct TCP ports that were free on 127.0.0.1 a moment ago. All the
 * sockets are held open until every port is chosen, so the ports differ from
 * each other; another process may still take one before the caller binds it,
 * which is why callers that pick ports retry on "address in use".
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listenOnAnyPort(server));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => closeServer(s)));
  }
}

function listenOnAnyPort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('freePorts: the listening socket has no port'));
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
