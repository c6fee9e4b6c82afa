import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SandcastleError } from '../errors.js';
import { checkMountPath, volumePathSegments } from './volume-paths.js';

const status = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof SandcastleError ? err.status : -1;
  }
  return 0;
};

it('reads a volume path as segments from the root', () => {
  assert.deepEqual(volumePathSegments('/'), []);
  assert.deepEqual(volumePathSegments('a/b'), ['a', 'b']);
  assert.deepEqual(volumePathSegments('//a/./b/'), ['a', 'b']);
  assert.deepEqual(volumePathSegments('/a/../b'), ['b']);
});

it('refuses a volume path that climbs out, is empty or holds NUL (400)', () => {
  for (const p of ['..', '/..', '/a/../../etc/passwd', '../x', '', 'a\0b']) assert.equal(status(() => volumePathSegments(p)), 400, p);
});

it('normalises mount points and refuses the root, relative paths and the sandbox own mounts', () => {
  assert.equal(checkMountPath('/mnt/data/'), '/mnt/data');
  assert.equal(checkMountPath('/home/user//vol'), '/home/user/vol');
  for (const p of ['/', 'mnt', '/mnt/../etc', '/proc', '/proc/x', '/dev/shm', '/opt', '/opt/sandcastle/lib', '/etc/resolv.conf', '/etc', '']) {
    assert.equal(status(() => checkMountPath(p)), 400, p);
  }
});
