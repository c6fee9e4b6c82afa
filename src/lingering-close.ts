// A lingering close (RFC 9112 §9.6) for the connections of a Node HTTP server that closes after
// answering (HTTP/1.0, `Connection: close`, which HAProxy sends on every request it hands Node)
// while the request body is still coming, as for a 415 to a 2 MB upload or Node's own 400 to an
// HTTP/1.1 request without a Host. Closed at once with unread bytes, the socket sends a reset,
// and HAProxy in front then dropped the answer it had received and closed its client's
// connection silently. The write side is ended and the rest of the body read and discarded until
// the client closes. Used by envd and the API server alike, so it imports only Node's modules.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection answered before its request body was read goes on reading it. */
const lingerMs = 2_000;

export function lingerWhileBodiesArrive(server: Server): void {
  const current = new WeakMap<Socket, IncomingMessage>();
  server.on('request', (req: IncomingMessage) => current.set(req.socket, req));
  server.on('connection', (socket: Socket) => {
    // Connections handed over by the public proxy are streams of its own, not sockets.
    if (typeof socket.destroySoon !== 'function') return;
    const destroySoon = socket.destroySoon.bind(socket);
    socket.destroySoon = () => {
      const req = current.get(socket);
      // No request seen: Node refused its head itself (an HTTP/1.1 request without a Host), and
      // its body may be coming.
      if (req?.complete === true) return destroySoon();
      socket.end();
      // Read on: the body's bytes are thrown away as they come, none left to hold the socket up.
      req?.resume();
      const timer = setTimeout(() => socket.destroy(), lingerMs);
      socket.once('close', () => clearTimeout(timer));
    };
  });
}
