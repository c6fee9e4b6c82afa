import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildOciSpec, processSecurityFingerprint } from './oci-spec.js';
import type { SandboxSpec } from '../runtime.js';

interface Spec {
  process: { capabilities: { bounding: string[]; effective: string[] } };
  mounts: Array<{ destination: string; type: string; source: string }>;
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    uidMappings?: unknown;
    gidMappings?: unknown;
    devices: Array<{ path: string }>;
  };
}

const sandbox = {
  id: 'kspec', layers: ['/l'], cpuCount: 1, memoryMB: 256, pidsLimit: 64,
  network: { hostAddress: '10.0.0.1', sandboxAddress: '10.0.0.2', prefixLength: 30 },
} as unknown as SandboxSpec;
const base = { spec: sandbox, netnsPath: '/var/run/netns/sc-kspec', toolsDir: '/tools', bundleDir: '/bundle' };
const mapping = { base: 100_000, size: 65_536 };

describe('OCI spec', () => {
  it('without a mapping: the host user namespace, sysfs and the /dev/fuse device node', () => {
    const s = buildOciSpec(base) as Spec;
    assert.ok(!s.linux.namespaces.some((n) => n.type === 'user'));
    assert.equal(s.linux.uidMappings, undefined);
    assert.ok(!s.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
    assert.equal(s.mounts.find((m) => m.destination === '/sys')?.type, 'sysfs');
    assert.deepEqual(s.linux.devices.map((d) => d.path), ['/dev/fuse']);
  });

  it('with a mapping: a user namespace of it, CAP_SYS_ADMIN inside it, /dev/fuse bound from the node of its root, no sysfs', () => {
    const s = buildOciSpec({ ...base, userns: { mapping, fuseDevice: '/data/dev-fuse' } }) as Spec;
    assert.ok(s.linux.namespaces.some((n) => n.type === 'user' && !n.path));
    assert.ok(s.linux.namespaces.some((n) => n.type === 'network' && n.path === base.netnsPath));
    assert.deepEqual(s.linux.uidMappings, [{ containerID: 0, hostID: 100_000, size: 65_536 }]);
    assert.deepEqual(s.linux.gidMappings, s.linux.uidMappings);
    assert.ok(s.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
    assert.ok(s.process.capabilities.effective.includes('CAP_SYS_ADMIN'));
    assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/fuse'), { destination: '/dev/fuse', type: 'bind', source: '/data/dev-fuse', options: ['bind', 'nosuid', 'noexec'] });
    assert.equal(s.mounts.find((m) => m.destination === '/sys')?.type, 'tmpfs');
    assert.deepEqual(s.linux.devices, []);
  });

  it('saved states taken with and without the mapping have other keys', () => {
    assert.notEqual(processSecurityFingerprint(mapping), processSecurityFingerprint());
    assert.notEqual(processSecurityFingerprint(mapping), processSecurityFingerprint({ base: 200_000, size: 65_536 }));
  });
});
