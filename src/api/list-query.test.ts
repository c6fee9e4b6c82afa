import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SandcastleError } from '../errors.js';
import { decodeLimit, decodeMetadataFilter, decodeStateFilter } from './list-query.js';

/** Encodes a filter exactly as novita-sandbox 2.1.1 and e2b do before the query string. */
function sdkEncode(metadata: Record<string, string>): string {
  const pairs = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]));
  return new URLSearchParams(pairs).toString();
}

describe('list query decoding', () => {
  it('round-trips metadata with spaces, ampersands, equals signs, percent signs and unicode', () => {
    const filter = { user: 'alice', 'k y': 'v&1', 'a=b': '100%', emoji: 'ü 🏖', plus: '1+1' };
    const query = new URLSearchParams({ metadata: sdkEncode(filter) }).toString();
    const routerValue = new URLSearchParams(query).get('metadata') ?? undefined;
    assert.deepEqual(decodeMetadataFilter(routerValue), filter);
  });

  it('matches the wire example of the protocol notes', () => {
    const routerValue = new URLSearchParams('metadata=user%3Dalice%26k%252520y%3Dv%2525261').get('metadata')!;
    assert.deepEqual(decodeMetadataFilter(routerValue), { user: 'alice', 'k y': 'v&1' });
  });

  it('defaults states to running and paused and rejects unknown ones', () => {
    assert.deepEqual(decodeStateFilter([]), ['running', 'paused']);
    assert.deepEqual(decodeStateFilter(['running']), ['running']);
    assert.deepEqual(decodeStateFilter(['running,paused']), ['running', 'paused']);
    assert.throws(() => decodeStateFilter(['sleeping']), (e: SandcastleError) => e.status === 400 && /sleeping/.test(e.message));
  });

  it('limits pages to 1..1000 with 1000 by default', () => {
    assert.equal(decodeLimit(undefined), 1000);
    assert.equal(decodeLimit('7'), 7);
    for (const bad of ['0', '1001', 'x', '1.5']) assert.throws(() => decodeLimit(bad), /between 1 and 1000/);
  });
});
