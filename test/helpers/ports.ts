import { createServer, type AddressInfo } from 'node:net';

/**
 * A free TCP port on 127.0.0.1, for a listener that must be given a port number (listen on 0, close, reuse). A port
 * drawn at random can be one the system has just handed to an outgoing connection.
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
