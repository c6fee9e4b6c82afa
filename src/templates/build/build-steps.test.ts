import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildBodySchema, stepKey, stepProblem } from './build-steps.js';
import { localTemplateName, parseTemplateName } from './template-names.js';

it('a step key changes with the parent, the type, the args and the files, and only with them', () => {
  const run = { type: 'RUN' as const, args: ['echo hi'] };
  const k = stepKey('p', run);
  assert.equal(stepKey('p', { ...run, force: true }), k);
  assert.notEqual(stepKey('q', run), k);
  assert.notEqual(stepKey('p', { ...run, args: ['echo ho'] }), k);
  assert.notEqual(stepKey('p', { type: 'COPY', args: ['a', 'b'], filesHash: 'x' }), stepKey('p', { type: 'COPY', args: ['a', 'b'], filesHash: 'y' }));
});

it('steps as the SDK sends them are checked, with the step number in the message', () => {
  assert.equal(stepProblem({ type: 'RUN', args: ['ls', 'root'] }, 1), undefined);
  assert.match(stepProblem({ type: 'RUN', args: [] }, 2)!, /step 2 \(RUN\) has no command/);
  assert.match(stepProblem({ type: 'COPY', args: ['a', 'b', '', ''] }, 3)!, /no filesHash/);
  assert.match(stepProblem({ type: 'COPY', args: ['a', 'b', '', '9x'], filesHash: 'h' }, 3)!, /not octal/);
  assert.match(stepProblem({ type: 'ENV', args: ['A'] }, 4)!, /name\/value pairs/);
  assert.match(stepProblem({ type: 'ENV', args: ['G="hello', 'there"'] }, 5)!, /"G="hello" is not a variable name/);
  assert.equal(buildBodySchema.safeParse({ fromTemplate: 'base', steps: [{ type: 'FROM', args: [] }] }).success, false);
});

it('template names take a tag; the hosted products\' base images are the local base', () => {
  assert.deepEqual(parseTemplateName('my-env:v1'), { name: 'my-env', tag: 'v1' });
  assert.deepEqual(parseTemplateName('my-env'), { name: 'my-env' });
  assert.throws(() => parseTemplateName('My Env'), /not valid/);
  assert.equal(localTemplateName('e2bdev/base'), 'base');
  assert.equal(localTemplateName('novita/base:latest'), 'base');
  assert.equal(localTemplateName('debian:bookworm'), 'debian:bookworm');
});
