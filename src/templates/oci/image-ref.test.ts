import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatImageRef, parseImageRef, pullSources, registryRef } from './image-ref.js';

const digest = `sha256:${'ab'.repeat(32)}`;

test('Docker Hub names get docker.io and library/, a missing tag is latest', () => {
  assert.deepEqual(parseImageRef('ubuntu'), { registry: 'docker.io', repository: 'library/ubuntu', tag: 'latest', digest: null });
  assert.deepEqual(parseImageRef('debian:bookworm'), { registry: 'docker.io', repository: 'library/debian', tag: 'bookworm', digest: null });
  assert.deepEqual(parseImageRef('library/x'), { registry: 'docker.io', repository: 'library/x', tag: 'latest', digest: null });
  assert.deepEqual(parseImageRef('e2bdev/code-interpreter:1.0'), { registry: 'docker.io', repository: 'e2bdev/code-interpreter', tag: '1.0', digest: null });
  assert.deepEqual(parseImageRef('docker.io/python:3.12-slim'), { registry: 'docker.io', repository: 'library/python', tag: '3.12-slim', digest: null });
  assert.deepEqual(parseImageRef('index.docker.io/library/node'), { registry: 'docker.io', repository: 'library/node', tag: 'latest', digest: null });
});

test('a first part with a dot, a port or localhost is a registry', () => {
  assert.deepEqual(parseImageRef('127.0.0.1:5000/name:tag'), { registry: '127.0.0.1:5000', repository: 'name', tag: 'tag', digest: null });
  assert.deepEqual(parseImageRef('localhost/a/b'), { registry: 'localhost', repository: 'a/b', tag: 'latest', digest: null });
  assert.deepEqual(parseImageRef('ghcr.io/org/team/app:v1.2'), { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1.2', digest: null });
  assert.deepEqual(parseImageRef('registry:5000/app'), { registry: 'registry:5000', repository: 'app', tag: 'latest', digest: null });
});

test('a digest pins the image; a tag next to it is kept for display', () => {
  assert.deepEqual(parseImageRef(`debian@${digest}`), { registry: 'docker.io', repository: 'library/debian', tag: null, digest });
  assert.deepEqual(parseImageRef(`127.0.0.1:5000/x:1@${digest}`), { registry: '127.0.0.1:5000', repository: 'x', tag: '1', digest });
  assert.equal(formatImageRef(parseImageRef(`debian@${digest}`)), `docker.io/library/debian@${digest}`);
  assert.equal(formatImageRef(parseImageRef('debian:bookworm'), 'mirror:5000'), 'mirror:5000/library/debian:bookworm');
  assert.equal(registryRef(parseImageRef(`x:1@${digest}`)), `docker.io/library/x@${digest}`);
  assert.equal(registryRef(parseImageRef('x:1'), 'mirror:5000'), 'mirror:5000/library/x:1');
});

test('malformed references are refused with the reason', () => {
  assert.throws(() => parseImageRef(''), /is empty/);
  assert.throws(() => parseImageRef('Ubuntu'), /must be lowercase/);
  assert.throws(() => parseImageRef('docker://debian'), /without a scheme/);
  assert.throws(() => parseImageRef('debian@sha256:123'), /not a sha256 digest/);
  assert.throws(() => parseImageRef('debian:bad tag'), /not a valid tag/);
  assert.throws(() => parseImageRef('reg.io//x'), /empty part/);
  assert.throws(() => parseImageRef('a/-b'), /not a valid repository name part/);
});

test('mirrors are tried first for Docker Hub images only, written as hosts or URLs', () => {
  const mirrors = ['127.0.0.1:5001', 'https://mirror.example.com/'];
  assert.deepEqual(pullSources(parseImageRef('debian'), mirrors), [
    { registry: '127.0.0.1:5001', mirror: true },
    { registry: 'mirror.example.com', mirror: true },
    { registry: 'docker.io', mirror: false },
  ]);
  assert.deepEqual(pullSources(parseImageRef('ghcr.io/x/y'), mirrors), [{ registry: 'ghcr.io', mirror: false }]);
});
