import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostId, hostMappingProblem, mappingProblem, mappingTag } from './id-mapping.js';

const mapping = { base: 100_000, size: 65_536 };
const host = {
  passwd: 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n',
  group: 'root:x:0:\nnogroup:x:65534:\n',
  subuid: '',
  subgid: '',
  maxUserNamespaces: '96362\n',
};

describe('id mapping', () => {
  it('maps ids inside the range and leaves the others', () => {
    assert.equal(hostId(0, mapping), 100_000);
    assert.equal(hostId(1000, mapping), 101_000);
    assert.equal(hostId(65_535, mapping), 165_535);
    assert.equal(hostId(65_536, mapping), 65_536);
    assert.equal(hostId(100_000, mapping), 100_000);
    assert.equal(hostId(1000, undefined), 1000);
    assert.equal(mappingTag(mapping), 'userns-100000-65536');
  });

  it('refuses ranges that are too small, overlap the ids inside or pass 32 bits', () => {
    assert.equal(mappingProblem(mapping), undefined);
    assert.match(mappingProblem({ base: 100_000, size: 1000 })!, /SANDCASTLE_USERNS_SIZE must be at least 65536/);
    assert.match(mappingProblem({ base: 1000, size: 65_536 })!, /SANDCASTLE_USERNS_BASE must be at least the size/);
    assert.match(mappingProblem({ base: 0xffff0000, size: 65_536 })!, /passes the largest id/);
  });

  it('says which host account, group or sub-id range takes ids of the range, and when the kernel has no user namespaces', () => {
    assert.equal(hostMappingProblem(mapping, host), undefined);
    assert.match(hostMappingProblem(mapping, { ...host, passwd: `${host.passwd}builder:x:100500:100500::/home/b:/bin/sh\n` })!, /host account builder \(id 100500\) is inside the sandboxes' id range 100000\.\.165535: set SANDCASTLE_USERNS_BASE/);
    assert.match(hostMappingProblem(mapping, { ...host, group: `${host.group}ci:x:165535:\n` })!, /host group ci \(id 165535\)/);
    assert.match(hostMappingProblem(mapping, { ...host, subuid: 'alice:100000:65536\n' })!, /\/etc\/subuid gives alice the ids 100000\.\.165535, which overlap/);
    assert.equal(hostMappingProblem(mapping, { ...host, subgid: 'alice:165536:65536\n' }), undefined);
    assert.match(hostMappingProblem(mapping, { ...host, maxUserNamespaces: '0\n' })!, /the kernel allows no user namespaces \(\/proc\/sys\/user\/max_user_namespaces is 0\)/);
  });
});
