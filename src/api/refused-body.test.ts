import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { discardRefusedBody } from './refused-body.js';

describe('discardRefusedBody', () => {
  it('reads a refused body to its end, so the answer comes after the client sent it all', async () => {
    const body = new PassThrough();
    const done = discardRefusedBody(body, 10);
    body.write('abc');
    setImmediate(() => body.end('def'));
    assert.equal(await done, true);
    assert.equal(body.readableEnded, true);
  });

  it('stops reading past the limit and leaves the stream open for the answer', async () => {
    const body = Readable.from([Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)]);
    assert.equal(await discardRefusedBody(body, 10), false);
    assert.equal(body.destroyed, false);
    assert.equal(body.isPaused(), true);
  });

  it('a body that broke off or was already torn down is not waited for', async () => {
    const broken = new PassThrough();
    const done = discardRefusedBody(broken, 10);
    broken.destroy(new Error('client went away'));
    assert.equal(await done, false);
    const gone = new PassThrough();
    gone.destroy();
    assert.equal(await discardRefusedBody(gone, 10), false);
  });
});
