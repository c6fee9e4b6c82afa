import type { Readable } from 'node:stream';

/** How much of a refused upload is read before answering; past it the answer comes at once. */
export const refusedBodyReadLimit = 64 * 1024 * 1024;

/**
 * Reads and drops what is left of a refused request body, up to `maxBytes`, so that the refusal
 * comes after the client has sent it all. A client still writing its body when a complete
 * answer arrives (undici's fetch, which the SDKs and tests use) can report only `fetch failed`
 * instead of the 4xx and its message. Resolves true when the body ended; false when it was
 * longer than `maxBytes` or broke off, and the connection must close after the answer.
 */
export function discardRefusedBody(body: Readable, maxBytes = refusedBodyReadLimit): Promise<boolean> {
  if (body.readableEnded) return Promise.resolve(true);
  if (body.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const settle = (ended: boolean) => {
      body.off('data', onData).off('end', onEnd).off('error', onError);
      body.pause();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) settle(false);
    };
    const onEnd = () => settle(true);
    const onError = () => settle(false);
    body.on('data', onData).once('end', onEnd).once('error', onError);
  });
}
