import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { it } from 'node:test';
import { holdSocket } from './held-socket.js';

/** A child that serves the inherited descriptor 3, as HAProxy does: each connection gets `hi`. */
async function serveInherited(fd: number): Promise<ChildProcess> {
  const code = "require('net').createServer((s) => s.end('hi')).listen({ fd: 3 }, () => console.log('up'))";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit', fd] });
  await once(child.stdout!, 'data');
  return child;
}

function read(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    net.connect(port, '127.0.0.1').on('data', (b) => (text += b.toString())).on('end', () => resolve(text)).on('error', reject);
  });
}

it('binds a port the kernel chooses; a child serving it dies and clients wait for the next', async () => {
  const held = await holdSocket('127.0.0.1', 0);
  try {
    assert.ok(held.port > 0);
    let child = await serveInherited(held.fd);
    assert.equal(await read(held.port), 'hi');
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Nothing accepts now; the connection waits in the backlog of the socket this process holds.
    const waiting = read(held.port);
    child = await serveInherited(held.fd);
    assert.equal(await waiting, 'hi');
    child.kill();
    await once(child, 'exit');
  } finally {
    held.close();
  }
});

it('refuses a port another program listens on, as Node words it', async () => {
  const other = net.createServer();
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const { port } = other.address() as net.AddressInfo;
  try {
    await assert.rejects(holdSocket('127.0.0.1', port), { code: 'EADDRINUSE', message: `listen EADDRINUSE: address already in use 127.0.0.1:${port}` });
  } finally {
    other.close();
  }
});

it('says an address this host does not have is not available', async () => {
  await assert.rejects(holdSocket('192.0.2.1', 0), { code: 'EADDRNOTAVAIL' });
});
