import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSend, type Decision } from '../src/consent';
import { normalizeManifest } from '../src/manifest';

// The shape `stead/escalate/preview` returns: items carry their index.
const manifest = normalizeManifest({
  id: 'm1',
  provider: 'work',
  items: [
    { index: 0, path: 'x.py', start_line: 1, end_line: 5, tokens: 1, text: 'a' },
    { index: 1, path: 'y.py', start_line: 1, end_line: 5, tokens: 2, text: 'b' },
    { index: 2, path: 'z.py', start_line: 1, end_line: 5, tokens: 3, text: 'c' },
  ],
});

const cases: [string, Decision, { approve: boolean; dropped: number[]; message: RegExp }][] = [
  ['refuse sends nothing', { kind: 'refuse' }, { approve: false, dropped: [], message: /nothing was sent/ }],
  ['approve all', { kind: 'approve', keep: ['0', '1', '2'] }, { approve: true, dropped: [], message: /sending 3 items to work/ }],
  ['drop one', { kind: 'approve', keep: ['0', '2'] }, { approve: true, dropped: [1], message: /2 items \(1 dropped\)/ }],
  ['dropping everything is a refusal', { kind: 'approve', keep: [] }, { approve: false, dropped: [], message: /every item was dropped; nothing was sent/ }],
  ['unknown ids are ignored', { kind: 'approve', keep: ['0', 'zzz'] }, { approve: true, dropped: [1, 2], message: /1 item \(2 dropped\)/ }],
];
for (const [name, decision, want] of cases) {
  test(name, () => {
    const plan = planSend(manifest, decision);
    assert.equal(plan.approve, want.approve);
    assert.deepEqual(plan.dropped, want.dropped);
    assert.match(plan.message, want.message);
  });
}

test('a question with no context items can still be approved', () => {
  assert.equal(planSend(normalizeManifest({ provider: 'p' }), { kind: 'approve', keep: [] }).approve, true);
});
