import assert from 'node:assert/strict';
import { it } from 'node:test';
import { resolveEgress } from './egress.js';

it('resolves names once into /32 rules and then lets DNS through to the sandbox name servers', async () => {
  const asked: string[] = [];
  const resolve = async (name: string) => {
    asked.push(name);
    return name === 'api.example.test' ? ['203.0.113.5', '203.0.113.6'] : Promise.reject(Object.assign(new Error('no'), { code: 'ENOTFOUND' }));
  };
  const r = await resolveEgress({ allowInternetAccess: false, allowOut: ['1.1.1.1', 'api.example.test'], denyOut: ['0.0.0.0/0'] }, ['198.51.100.53'], resolve);
  assert.deepEqual(r, { internet: false, allow: ['1.1.1.1/32', '203.0.113.5/32', '203.0.113.6/32'], deny: ['0.0.0.0/0'], dns: ['198.51.100.53'] });
  assert.deepEqual(asked, ['api.example.test']);
  const plain = await resolveEgress({ allowInternetAccess: true, allowOut: [], denyOut: ['8.8.8.8'] }, ['198.51.100.53'], resolve);
  assert.deepEqual(plain.dns, [], 'without names, DNS is a destination like any other');
  await assert.rejects(resolveEgress({ allowInternetAccess: true, allowOut: ['gone.example.test'], denyOut: [] }, [], resolve), /allowOut entry "gone.example.test" could not be resolved \(ENOTFOUND\)/);
});
