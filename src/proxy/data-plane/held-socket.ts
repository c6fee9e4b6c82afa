// Listening sockets that Node binds and holds for HAProxy, which inherits them (`bind fd@N`).
// Node never accepts on them. While HAProxy starts again after a crash, the kernel keeps
// queueing connections in their backlog (Node still holds them open), so the API port and the
// public ports never refuse a client. Port 0 is also chosen once, by the kernel, with no probe
// let go before HAProxy binds it.
import dns from 'node:dns/promises';
import net from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

export interface HeldSocket {
  /** The socket's descriptor in this process, for a child to inherit. */
  fd: number;
  /** The port it is bound to (the one the kernel chose for 0). */
  port: number;
  close(): void;
}

interface ServerHandle {
  fd: number;
  getsockname(out: { port?: number }): number;
  close(): void;
}

/** Node's own way to bind a server socket without accepting on it: its cluster primary makes its
 *  workers' sockets with it. It returns a negative errno when the bind fails. */
const createServerHandle = (net as unknown as { _createServerHandle(address: string, port: number, family: number): ServerHandle | number })._createServerHandle;

/** Binds `host` (an address, or a name to look up) and `port`; a failed bind throws Node's own
 *  wording (`listen EADDRINUSE: address already in use 127.0.0.1:3000`) with its `code`. */
export async function holdSocket(host: string, port: number): Promise<HeldSocket> {
  const { address, family } = net.isIP(host) ? { address: host, family: net.isIP(host) } : await dns.lookup(host);
  const failed = (errno: number) => {
    const [code, message] = getSystemErrorMap().get(errno) ?? [`errno ${errno}`, 'bind failed'];
    return Object.assign(new Error(`listen ${code}: ${message} ${net.isIPv6(address) ? `[${address}]` : address}:${port}`), { code });
  };
  const handle = createServerHandle(address, port, family);
  if (typeof handle === 'number') throw failed(handle);
  // libuv keeps a bind's EADDRINUSE for the listen that follows it (which is HAProxy's here) and
  // leaves the socket unbound: its name then says port 0.
  const name: { port?: number } = {};
  handle.getsockname(name);
  if (!name.port || (port !== 0 && name.port !== port)) {
    handle.close();
    throw failed(-constants.errno.EADDRINUSE);
  }
  return { fd: handle.fd, port: name.port, close: () => handle.close() };
}
