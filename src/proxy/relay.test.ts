import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { adoptWithReusedReads, directWrites, ReusedReads, writeInto } from './relay.js';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a relay with reused reads delivers every byte in order to a slow reader, and passes the end on', async () => {
  const payload = randomBytes(8 * 1024 * 1024);
  // The far end reads in fits and starts, so the relay's writes queue and its reads must pause.
  const received: Buffer[] = [];
  const done = new Promise<Buffer>((resolve) => {
    const far = net.createServer((s) => {
      s.on('data', (c: Buffer) => {
        received.push(c);
        s.pause();
        setTimeout(() => s.resume(), 1);
      });
      s.on('end', () => resolve(Buffer.concat(received)));
    });
    void listen(far).then((farPort) => {
      const relay = net.createServer({ pauseOnConnect: true }, (raw) => {
        const reads = new ReusedReads();
        const client = adoptWithReusedReads(raw, reads);
        const upstream = net.connect(farPort, '127.0.0.1', () => {
          reads.setSink(writeInto(client, upstream, reads));
          client.once('end', () => upstream.end());
          client.resume();
          relay.close();
          far.close();
        });
      });
      void listen(relay).then((relayPort) => {
        const sender = net.connect(relayPort, '127.0.0.1', () => sender.end(payload));
      });
    });
  });
  const got = await done;
  assert.equal(got.length, payload.length);
  assert.equal(sha(got), sha(payload));
});

test('bytes a socket still has queued when the relay starts go out before the relayed ones', async () => {
  // More than the kernel buffers of both ends hold, so some of it is still queued in the relay's
  // socket when the relayed bytes arrive.
  const prefix = randomBytes(32 * 1024 * 1024);
  const payload = randomBytes(1024 * 1024);
  const received: Buffer[] = [];
  const far = net.createServer({ pauseOnConnect: true }, (s) => {
    setTimeout(() => s.resume(), 300);
    s.on('data', (c: Buffer) => received.push(c));
  });
  const farPort = await listen(far);
  const ended = new Promise<void>((resolve) => far.once('connection', (s: net.Socket) => s.once('end', () => resolve())));
  let queuedAtStart = 0;
  const relay = net.createServer({ pauseOnConnect: true }, (raw) => {
    const reads = new ReusedReads();
    const client = adoptWithReusedReads(raw, reads);
    const upstream = net.connect(farPort, '127.0.0.1', () => {
      // Two writes: the second waits in the socket's own buffer behind the first.
      upstream.write(prefix.subarray(0, prefix.length / 2));
      upstream.write(prefix.subarray(prefix.length / 2));
      queuedAtStart = upstream.writableLength;
      reads.setSink(writeInto(client, upstream, reads));
      client.once('end', () => upstream.end());
      client.resume();
    });
  });
  const relayPort = await listen(relay);
  const sender = net.connect(relayPort, '127.0.0.1', () => sender.end(payload));
  await ended;
  relay.close();
  far.close();
  assert.ok(queuedAtStart > 0, 'the prefix should still have been queued when the relay started');
  const got = Buffer.concat(received);
  assert.equal(got.length, prefix.length + payload.length);
  assert.equal(sha(got), sha(Buffer.concat([prefix, payload])));
});

test('this Node lets relays write to socket handles directly (else they fall back to socket.write)', () => {
  assert.equal(directWrites, true);
});
