import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditMessage, historyMarkdown, historyRow, when } from '../src/history';

const entry = {
  id: 7, ts: 1795000000, kind: 'chat', workspace: '/ws', model: 'stead-tiny', route: 'local', outcome: 'stop',
  private: false, prompt_tokens: 30, completion_tokens: 5, latency_ms: 12.4, conversation_id: 'c1',
  files: [{ path: 'calc.py', start_line: 1, end_line: 2 }], redactions: { secret: 1 },
  summary: 'what does\n add do?', truncated: false,
};

test('when', () => {
  assert.equal(when(0), '1970-01-01 00:00');
  assert.equal(when('nope'), '');
  assert.equal(when(undefined), '');
});

test('history row', () => {
  const r = historyRow(entry);
  assert.equal(r.label, '$(comment) chat');
  assert.match(r.description, /stead-tiny · local · 35 tok$/);
  assert.equal(r.detail, 'what does add do?');
  assert.equal(r.id, 7);
  assert.equal(historyRow({ ...entry, route: 'remote', private: true }).label, '$(cloud-upload) chat (private)');
});

test('history page has the facts, files, redactions and fenced texts', () => {
  const md = historyMarkdown({ ...entry, prompt: 'has ``` inside', response: 'return a + b', commits: [{ sha: 'abcdef0123456789', confidence: 0.9 }] });
  assert.ok(md.startsWith('# chat #7\n'));
  assert.match(md, /- \*\*tokens\*\*: 30 in, 5 out/);
  assert.match(md, /- calc\.py:1-2/);
  assert.match(md, /Redacted before storing: 1 secret/);
  assert.ok(md.includes('````\nhas ``` inside\n````'), md); // a longer fence: the text cannot break out
  assert.match(md, /- abcdef012345 \(0\.9\)/);
});

const audits: [string, Record<string, unknown>, boolean, RegExp][] = [
  ['intact', { ok: true, records: 3, problems: [] }, true, /intact \(3 records, hash chain verified\)/],
  ['one record', { ok: true, records: 1 }, true, /\(1 record,/],
  ['broken', { ok: false, records: 4, problems: ['line 2: record 2 was edited'] }, false, /does NOT verify \(4 records\): line 2: record 2 was edited/],
  ['many problems', { ok: false, records: 9, problems: ['a', 'b', 'c', 'd', 'e'] }, false, /a; b; c; and 2 more/],
  ['junk', {}, false, /hash chain broken/],
];
for (const [name, r, ok, msg] of audits) {
  test(`audit: ${name}`, () => {
    const m = auditMessage(r);
    assert.equal(m.ok, ok);
    assert.match(m.message, msg);
  });
}
