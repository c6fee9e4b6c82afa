import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelSpecFor, missingKernel } from './kernelspecs.js';

let root: string;
let local: string;
let system: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kernelspecs-'));
  local = path.join(root, 'local');
  system = path.join(root, 'system');
  await mkdir(path.join(system, 'ir'), { recursive: true });
  await writeFile(path.join(system, 'ir', 'kernel.json'), JSON.stringify({ argv: ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'] }));
  await mkdir(path.join(local, 'java'), { recursive: true });
  await writeFile(
    path.join(local, 'java', 'kernel.json'),
    JSON.stringify({ argv: ['java', '-jar', '{resource_dir}/ijava.jar', '{connection_file}'], interrupt_mode: 'message' }),
  );
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('kernelspecs', () => {
  it('finds an installed kernel with its command line, resource folder and interrupt mode', () => {
    assert.deepEqual(kernelSpecFor('r', [local, system]), {
      argv: ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
      interruptMode: 'signal',
    });
    assert.deepEqual(kernelSpecFor('java', [local, system]), {
      argv: ['java', '-jar', `${path.join(local, 'java')}/ijava.jar`, '{connection_file}'],
      interruptMode: 'message',
    });
    assert.equal(kernelSpecFor('python', [local, system]), undefined, 'Python is the interpreter\'s own kernel');
  });

  it('says what is missing, and which languages run instead', () => {
    assert.equal(missingKernel('r', [local, system]), undefined);
    assert.equal(missingKernel('python', [root]), undefined);
    assert.equal(
      missingKernel('r', [root]),
      `the r language needs an R kernel (R with IRkernel: Debian's r-base-core and r-cran-irkernel), which this sandbox does not have ` +
        `(no 'ir' kernelspec in ${root}); it runs python, javascript, typescript, bash`,
    );
    assert.match(missingKernel('java', [system])!, /needs a Java kernel \(a JDK with IJava\).*; it runs python, javascript, typescript, bash, r$/);
  });

  it('skips a kernel.json without a command line', async () => {
    const broken = path.join(root, 'broken');
    await mkdir(path.join(broken, 'ir'), { recursive: true });
    await writeFile(path.join(broken, 'ir', 'kernel.json'), JSON.stringify({ argv: [] }));
    assert.equal(kernelSpecFor('r', [broken]), undefined);
    assert.ok(kernelSpecFor('r', [broken, system]));
  });
});
