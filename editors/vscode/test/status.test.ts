import assert from 'node:assert/strict';
import { test } from 'node:test';
import { indexPhrase, statusView } from '../src/status';

const running = { version: '0.1.0', model: '/models/qwen2.5-coder-0.5b.gguf', backend: 'gpt4all', route: 'local', remote_enabled: false };

const phrases: [string, Record<string, unknown>, string, boolean][] = [
  ['empty', {}, '', false],
  ['indexing with counts', { state: 'indexing', done: 40, total: 100 }, 'indexing 40%', true],
  ['indexing with percent', { state: 'indexing', percent: 7 }, 'indexing 7%', true],
  ['indexing unknown total', { state: 'indexing' }, 'indexing', true],
  ['ready', { state: 'ready', chunks: 12345 }, '12,345 chunks', false],
  ['error', { state: 'error' }, 'index error', false],
  ['embedding with counts', { state: 'embedding', done: 3, total: 4, chunks: 9 }, 'embedding 75%', true],
  ['starting', { state: 'starting', files: 0, chunks: 0 }, 'starting', true],
  ['disabled says nothing', { state: 'disabled', chunks: 0 }, '', false],
  ['done never above 100%', { state: 'indexing', done: 12, total: 10 }, 'indexing 100%', true],
];
for (const [name, index, text, busy] of phrases) {
  test(`indexPhrase: ${name}`, () => assert.deepEqual(indexPhrase(index), { text, busy }));
}

test('running: model basename, route, index', () => {
  const v = statusView('running', { ...running, index: { state: 'ready', chunks: 3 } });
  assert.equal(v.text, '$(shield) stead · qwen2.5-coder-0.5b · local · 3 chunks');
  assert.match(v.tooltip, /remote escalation off/);
  assert.equal(v.error, false);
});

test('indexing spins', () => {
  const v = statusView('running', { ...running, index: { state: 'indexing', done: 1, total: 4 } });
  assert.ok(v.text.startsWith('$(sync~spin)'));
  assert.ok(v.text.endsWith('indexing 25%'));
  assert.equal(v.busy, true);
});

test('remote route is visible', () => {
  assert.match(statusView('running', { ...running, route: 'remote', remote_enabled: true }).text, /cloud-upload.* remote/);
});

test('failed shows the reason', () => {
  const v = statusView('failed', undefined, 'the `stead` command was not found');
  assert.equal(v.error, true);
  assert.match(v.tooltip, /not found/);
});

test('starting before the first status', () => {
  assert.equal(statusView('running', undefined).busy, true);
});

test('tooltip carries the index message and error', () => {
  const v = statusView('running', { ...running, index: { state: 'error', error: 'LanceDB needs AVX2', search: 'fts' } });
  assert.match(v.tooltip, /LanceDB needs AVX2; search: fts/);
});

test('a model error turns the item red and names the fix', () => {
  const v = statusView('running', {
    ...running,
    model: 'qwen2.5-coder-0.5b',
    model_state: 'error',
    model_error: 'qwen2.5-coder-0.5b: not installed',
    model_fix: 'stead models install qwen2.5-coder-0.5b',
    index: { state: 'ready', chunks: 3 },
  });
  assert.equal(v.error, true);
  assert.match(v.text, /^\$\(error\) stead · qwen2\.5-coder-0\.5b: model error/);
  assert.match(v.tooltip, /model error: qwen2\.5-coder-0\.5b: not installed/);
  assert.match(v.tooltip, /fix: stead models install qwen2\.5-coder-0\.5b/);
  const ok = statusView('running', { ...running, model_state: 'loaded', model_error: '', model_fix: '' });
  assert.equal(ok.error, false);
  assert.doesNotMatch(ok.tooltip, /model error/);
});

test('while vectors fill in, the index phrase says search already works', () => {
  assert.deepEqual(indexPhrase({ state: 'embedding', done: 30, total: 120, search_ready: 'full text' }), { text: 'embedding 25% (search ready)', busy: true });
  assert.deepEqual(indexPhrase({ state: 'indexing', done: 0, total: 10, search_ready: '' }), { text: 'indexing 0%', busy: true });
});
