import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePlatform, hostArchitecture, imageConfig, isManifestList, layerCompression } from './manifest.js';

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const entry = (n: number, os: string, architecture: string, variant?: string) => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(n), size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) },
});

test('manifest lists are told apart with or without a media type', () => {
  assert.equal(isManifestList({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' }), true);
  assert.equal(isManifestList({ mediaType: 'application/vnd.oci.image.index.v1+json' }), true);
  assert.equal(isManifestList({ manifests: [] }), true);
  assert.equal(isManifestList({ mediaType: 'application/vnd.oci.image.manifest.v1+json' }), false);
  assert.equal(isManifestList({}), false);
});

test('the linux image of the host architecture is chosen, the plain variant first', () => {
  const list = { manifests: [entry(1, 'linux', 'arm64', 'v8'), entry(2, 'linux', 'amd64', 'v3'), entry(3, 'linux', 'amd64'), entry(4, 'unknown', 'unknown')] };
  assert.equal(choosePlatform(list, 'x', 'amd64').digest, d(3));
  assert.equal(choosePlatform(list, 'x', 'arm64').digest, d(1));
  assert.equal(choosePlatform({ manifests: [entry(2, 'linux', 'amd64', 'v3')] }, 'x', 'amd64').digest, d(2));
  assert.throws(() => choosePlatform({ manifests: [entry(1, 'windows', 'amd64')] }, 'img:1', 'amd64'), /image img:1 has no linux\/amd64 variant \(it offers windows\/amd64\)/);
  assert.equal(hostArchitecture('x64'), 'amd64');
});

test('layer compression comes from the media type', () => {
  assert.equal(layerCompression('application/vnd.oci.image.layer.v1.tar+gzip', 'x'), 'gzip');
  assert.equal(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip', 'x'), 'gzip');
  assert.equal(layerCompression('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'x'), 'gzip');
  assert.equal(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd', 'x'), 'zstd');
  assert.equal(layerCompression('application/vnd.oci.image.layer.v1.tar', 'x'), 'none');
  assert.throws(() => layerCompression('application/vnd.oci.image.layer.v1.tar+gzip+encrypted', 'x'), /encrypted layer/);
  assert.throws(() => layerCompression('application/vnd.cncf.helm.chart.content.v1.tar+bz', 'x'), /not a layer archive/);
});

test('image config: run settings, empty strings as unset', () => {
  assert.deepEqual(imageConfig({ config: { Env: ['A=1'], Cmd: ['sh'], Entrypoint: ['/init'], WorkingDir: '/app', User: '1000:1000' } }), {
    env: ['A=1'], cmd: ['sh'], entrypoint: ['/init'], workingDir: '/app', user: '1000:1000',
  });
  assert.deepEqual(imageConfig({ config: { WorkingDir: '', User: '', Cmd: null } }), { env: [], cmd: null, entrypoint: null, workingDir: null, user: null });
  assert.deepEqual(imageConfig({}), { env: [], cmd: null, entrypoint: null, workingDir: null, user: null });
});
