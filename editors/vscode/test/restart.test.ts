import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartPolicy } from '../src/restart';

test('restarts up to max times inside the window, then gives up and says so', () => {
  const p = new RestartPolicy(3, 60_000);
  const decisions = [0, 1000, 2000, 3000].map((t) => p.onCrash(t));
  assert.deepEqual(decisions.map((d) => d.restart), [true, true, true, false]);
  assert.match(decisions[0]!.message, /restarting it \(1 of 3\)/);
  assert.match(decisions[3]!.message, /crashed 4 times .* will not be restarted/);
});

test('crashes older than the window are forgotten', () => {
  const p = new RestartPolicy(2, 60_000);
  assert.equal(p.onCrash(0).restart, true);
  assert.equal(p.onCrash(10_000).restart, true);
  const later = p.onCrash(65_000); // the first crash left the window
  assert.equal(later.restart, true);
  assert.equal(later.crashes, 2);
});

test('max 0 never restarts', () => {
  assert.equal(new RestartPolicy(0).onCrash(0).restart, false);
});

test('reset after a manual restart starts counting again', () => {
  const p = new RestartPolicy(1, 60_000);
  p.onCrash(0);
  assert.equal(p.onCrash(1).restart, false);
  p.reset();
  assert.equal(p.onCrash(2).restart, true);
});
