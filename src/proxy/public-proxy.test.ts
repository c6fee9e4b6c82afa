import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { PublicProxy } from './public-proxy.js';

/** A service that knows no sandbox. */
const noSandboxes = {
  on: () => undefined,
  routeTraffic: async (id: string) => ({ error: errors.sandboxNotFound(id) }),
} as unknown as SandboxService;

let proxy: PublicProxy;
let server: net.Server;
let port: number;
before(async () => {
  proxy = new PublicProxy({ domain: 'sandcastle.localhost' } as Config, noSandboxes);
  server = net.createServer({ pauseOnConnect: true }, (s) => proxy.handlePlain(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
after(() => {
  proxy.close();
  server.close();
});

/** Sends `pieces` one after the other and resolves to the answer's status line. */
function statusLine(pieces: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      const eol = got.indexOf('\r\n');
      if (eol >= 0) {
        socket.destroy();
        resolve(got.slice(0, eol));
      }
    });
    socket.on('error', reject);
  });
}

const host = 'Host: 8000-nosuchsandbox.sandcastle.localhost\r\n';

test('a head within the limit is routed (here: no such sandbox)', async () => {
  assert.equal(await statusLine([`GET / HTTP/1.1\r\n${host}\r\n`]), 'HTTP/1.1 502 Bad Gateway');
});

test('a head over 16 KiB is refused with 431, whether it arrives whole or in pieces', async () => {
  const head = `GET / HTTP/1.1\r\n${host}X-Pad: ${'p'.repeat(20 * 1024)}\r\n\r\n`;
  assert.equal(await statusLine([head]), 'HTTP/1.1 431 Request Header Fields Too Large');
  assert.equal(await statusLine([head.slice(0, 1000), head.slice(1000)]), 'HTTP/1.1 431 Request Header Fields Too Large');
});
