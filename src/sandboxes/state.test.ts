import assert from 'node:assert/strict';
import { it } from 'node:test';
import { canTransition, isHidden, listedState, recoveryAction, type SandboxState } from './state.js';

it('allows the transitions the operations make and refuses the rest', () => {
  assert.ok(canTransition('running', 'pausing'));
  assert.ok(canTransition('pausing', 'paused'));
  assert.ok(canTransition('pausing', 'running'), 'a failed pause leaves it running');
  assert.ok(canTransition('resuming', 'paused'), 'a failed resume leaves it paused');
  assert.ok(canTransition('paused', 'killing'));
  assert.ok(canTransition('killing', 'gone'));
  assert.equal(canTransition('paused', 'running'), false, 'a resume goes through resuming');
  assert.equal(canTransition('running', 'paused'), false, 'a pause goes through pausing');
  assert.equal(canTransition('killing', 'running'), false, 'a kill is never undone');
  assert.equal(canTransition('running', 'gone'), false, 'a record goes only through killing');
});

it('hides what no create answered for and what is being killed; lists the rest by the state it is leaving', () => {
  assert.deepEqual((['starting', 'pooled', 'killing'] as SandboxState[]).map(isHidden), [true, true, true]);
  assert.deepEqual((['running', 'pausing', 'paused', 'resuming'] as SandboxState[]).map(listedState), ['running', 'paused', 'paused', 'running']);
});

it('recovery: what never was answered for, or was being killed, is removed', () => {
  for (const state of ['starting', 'pooled', 'killing'] as SandboxState[]) {
    assert.equal(recoveryAction(state, { container: 'running', checkpointWhole: false }), 'destroy', state);
  }
});

it('recovery: a sandbox whose processes live runs on, thawed if a dump froze it', () => {
  for (const state of ['running', 'pausing', 'resuming', 'paused'] as SandboxState[]) {
    assert.equal(recoveryAction(state, { container: 'running', checkpointWhole: false }), 'run', state);
    assert.equal(recoveryAction(state, { container: 'frozen', checkpointWhole: false }), 'run', state);
  }
});

it('recovery: a pause or resume cut short ends paused when its checkpoint is whole, and never destroys one that is', () => {
  for (const state of ['pausing', 'paused', 'resuming'] as SandboxState[]) {
    for (const container of ['stopped', 'absent'] as const) {
      assert.equal(recoveryAction(state, { container, checkpointWhole: true }), 'pause', `${state}/${container}`);
    }
  }
});

it('recovery: with neither processes nor a whole checkpoint there is nothing to keep', () => {
  for (const state of ['running', 'pausing', 'paused', 'resuming'] as SandboxState[]) {
    assert.equal(recoveryAction(state, { container: 'absent', checkpointWhole: false }), 'destroy', state);
  }
});

it('recovery: a warm pause (frozen beside a whole checkpoint) ends paused cold; a resume cut short mid-thaw runs', () => {
  for (const state of ['pausing', 'paused'] as SandboxState[]) {
    assert.equal(recoveryAction(state, { container: 'frozen', checkpointWhole: true }), 'pause', state);
  }
  assert.equal(recoveryAction('resuming', { container: 'frozen', checkpointWhole: true }), 'run');
  assert.equal(recoveryAction('running', { container: 'frozen', checkpointWhole: false }), 'run', 'a clone source is thawed');
});
