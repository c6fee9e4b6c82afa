import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { removalScript } from './netns.js';

describe('removalScript', () => {
  it('deletes the links of a batch as one device group, then the namespaces', () => {
    const script = removalScript([{ veth: 'scaaa', netns: 'sc-aaa' }, { netns: 'sc-bbb' }, { veth: 'scccc' }], 7);
    assert.equal(script, [
      'link set dev scaaa group 7',
      'link set dev scccc group 7',
      'link delete group 7',
      'netns delete sc-aaa',
      'netns delete sc-bbb',
    ].join('\n') + '\n');
  });

  it('asks for no group deletion when no link is left', () => {
    assert.equal(removalScript([{ netns: 'sc-aaa' }], 7), 'netns delete sc-aaa\n');
  });
});
