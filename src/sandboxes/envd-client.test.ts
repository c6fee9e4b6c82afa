import assert from 'node:assert/strict';
import http from 'node:http';
import { it } from 'node:test';
import { freePort } from '../../test/support/free-port.js';
import { waitForHealth } from './envd-client.js';

it('waits for something to listen, then for /health to answer 2xx', async () => {
  const port = await freePort();
  let asked = 0;
  const server = http.createServer((req, res) => {
    assert.equal(req.url, '/health');
    asked++;
    res.writeHead(asked < 3 ? 503 : 204).end();
  });
  // Starts listening only after the wait has begun, as envd does in a fresh sandbox.
  const listening = new Promise<void>((r) => setTimeout(() => server.listen(port, '127.0.0.1', r), 60));
  try {
    await waitForHealth('127.0.0.1', port, 5000);
    await listening;
    assert.equal(asked, 3, 'asked until the service was ready, and not after');
  } finally {
    server.close();
  }
});

it('gives up after the timeout and says what it last saw', async () => {
  const port = await freePort();
  await assert.rejects(waitForHealth('127.0.0.1', port, 100), new RegExp(`port ${port} of 127\\.0\\.0\\.1 did not answer /health within 100 ms \\(nothing listens\\)`));
});
