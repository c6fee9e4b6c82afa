import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lazyRestoreProblem } from './restore-lazy.js';

test('lazy restore is possible without user namespaces, or where the kernel lets them open a userfaultfd', () => {
  assert.equal(lazyRestoreProblem(false, '0\n'), undefined);
  assert.equal(lazyRestoreProblem(false, undefined), undefined);
  assert.equal(lazyRestoreProblem(true, '1\n'), undefined);
});

test('lazy restore of user-namespaced sandboxes is refused, naming the settings that would allow it', () => {
  for (const sysctl of ['0\n', undefined]) {
    const problem = lazyRestoreProblem(true, sysctl);
    assert.match(problem ?? '', /vm\.unprivileged_userfaultfd=1/);
    assert.match(problem ?? '', /SANDCASTLE_USERNS=0/);
  }
});
