import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSend, type Decision } from '../src/consent';
import { normalizeManifest } from '../src/manifest';

const manifest = normalizeManifest({
  provider: 'work',
  items: [
    { id: 'a', path: 'x.py', tokens: 1 },
    { id: 'b', path: 'y.py', tokens: 2 },
    { id: 'c', path: 'z.py', tokens: 3 },
  ],
});

const cases: [string, Decision, { send: boolean; drop: string[]; message: RegExp }][] = [
  ['refuse sends nothing', { kind: 'refuse' }, { send: false, drop: [], message: /nothing was sent/ }],
  ['approve all', { kind: 'approve', keep: ['a', 'b', 'c'] }, { send: true, drop: [], message: /sending 3 items to work/ }],
  ['drop one', { kind: 'approve', keep: ['a', 'c'] }, { send: true, drop: ['b'], message: /2 items \(1 dropped\)/ }],
  ['dropping everything is a refusal', { kind: 'approve', keep: [] }, { send: false, drop: [], message: /every item was dropped; nothing was sent/ }],
  ['unknown ids are ignored', { kind: 'approve', keep: ['a', 'zzz'] }, { send: true, drop: ['b', 'c'], message: /1 item \(2 dropped\)/ }],
];
for (const [name, decision, want] of cases) {
  test(name, () => {
    const plan = planSend(manifest, decision);
    assert.equal(plan.send, want.send);
    assert.deepEqual(plan.drop, want.drop);
    assert.match(plan.message, want.message);
  });
}

test('a question with no context items can still be approved', () => {
  assert.equal(planSend(normalizeManifest({ provider: 'p' }), { kind: 'approve', keep: [] }).send, true);
});
