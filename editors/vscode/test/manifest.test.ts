import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeHtml, formatCost, lineRange, linkCitations, normalizeManifest, redactionList, renderManifestHtml, summarize } from '../src/manifest';

const serverManifest = {
  provider: 'work',
  model: 'gpt-x',
  items: [
    { path: 'src/a.py', start_line: 3, end_line: 9, tokens: 40, reasons: ['symbol match', 'recent edit'], detail: 'add' },
    { id: 'k2', path: 'src/b.py', start_line: 1, end_line: 1, tokens: 5, reason: 'full-text', redactions: { secret: 1, email: 2 } },
  ],
  excluded: [{ path: '.env', why: 'never-send: .env*' }],
  redactions: [{ kind: 'secret', count: 1 }],
  estimated_cost_usd: 0.0004,
  notes: ['context cut to fit the budget'],
};

describe('normalizeManifest', () => {
  test('snake_case server JSON', () => {
    const m = normalizeManifest(serverManifest);
    assert.equal(m.provider, 'work');
    assert.equal(m.items.length, 2);
    assert.deepEqual(
      m.items.map((i) => [i.id, i.path, i.startLine, i.endLine, i.tokens, i.reason]),
      [
        ['0', 'src/a.py', 3, 9, 40, 'symbol match + recent edit'],
        ['k2', 'src/b.py', 1, 1, 5, 'full-text'],
      ],
    );
    assert.deepEqual(m.items[1]!.redactions, ['1 secret', '2 emails']);
    assert.equal(m.tokens, 45);
    assert.equal(m.costUsd, 0.0004);
    assert.deepEqual(m.excluded, [{ path: '.env', why: 'never-send: .env*' }]);
  });
  test('escalation preview: index ids, item text, redactions attached to their item, payload', () => {
    const m = normalizeManifest({
      id: 'abc', provider: 'work', model: 'gpt-x', url: 'https://api.example/v1', question: 'why?',
      items: [
        { index: 0, path: 'a.py', start_line: 1, end_line: 3, tokens: 9, text: 'key = <SECRET_1>' },
        { index: 1, path: 'b.py', start_line: 4, end_line: 4, tokens: 2, text: 'x' },
      ],
      excluded: [{ path: '.env', reason: 'never-send rule .env*' }],
      redactions: [
        { kind: 'secret', placeholder: '<SECRET_1>', where: 'a.py:1', item: 0 },
        { kind: 'email', placeholder: '<EMAIL_1>', where: 'question', item: null },
      ],
      tokens: 40, estimated_cost_usd: null, payload: '{"model":"gpt-x"}',
    });
    assert.deepEqual(m.items.map((i) => i.id), ['0', '1']);
    assert.deepEqual(m.items[0]!.redactions, ['1 secret']);
    assert.deepEqual(m.items[1]!.redactions, []);
    assert.deepEqual(m.redactions, ['1 secret', '1 email']);
    assert.equal(m.items[0]!.text, 'key = <SECRET_1>');
    assert.equal(m.tokens, 40);
    assert.equal(m.costUsd, null);
    assert.deepEqual(m.excluded, [{ path: '.env', why: 'never-send rule .env*' }]);
    const html = renderManifestHtml(m, { checkboxes: true });
    assert.ok(html.includes('key = &lt;SECRET_1&gt;'));
    assert.ok(html.includes('Exact request body'));
  });
  test('chat manifest: dropped candidates are "left out", not "never sent"', () => {
    const m = normalizeManifest({ items: [], dropped: [{ path: 'c.py', start_line: 2, end_line: 8, tokens: 50, why: 'over budget' }] });
    assert.deepEqual(m.leftOut, [{ path: 'c.py:2-8', why: 'over budget' }]);
    assert.deepEqual(m.excluded, []);
    assert.ok(renderManifestHtml(m).includes('Left out: 1'));
  });
  const junk: [string, unknown][] = [['null', null], ['string', 'x'], ['array', [1, 2]], ['items not a list', { items: 'no' }], ['item junk', { items: [null, 7] }]];
  for (const [name, raw] of junk) {
    test(`tolerates ${name}`, () => {
      const m = normalizeManifest(raw);
      assert.equal(m.tokens, 0);
      assert.ok(Array.isArray(m.items));
    });
  }
});

describe('formatting', () => {
  const ranges: [number, number, string][] = [[0, 0, ''], [5, 5, '5'], [5, 9, '5-9'], [5, 0, '5']];
  for (const [s, e, want] of ranges) test(`lineRange ${s}-${e}`, () => assert.equal(lineRange({ startLine: s, endLine: e }), want));
  const costs: [number | null, string][] = [[null, 'unknown'], [0, '$0'], [0.004, '< $0.01 ($0.00400)'], [1.5, '$1.50']];
  for (const [c, want] of costs) test(`formatCost ${c}`, () => assert.equal(formatCost(c), want));
  test('redactionList forms', () => {
    assert.deepEqual(redactionList(['api key']), ['1 api key']);
    assert.deepEqual(redactionList({ ip: 1, email: 0 }), ['1 ip']);
    assert.deepEqual(redactionList([{ kind: 'secret' }, { kind: 'secret' }, 'email']), ['2 secrets', '1 email']);
  });
  test('summarize', () => {
    assert.equal(summarize(normalizeManifest(serverManifest)), '2 chunks from 2 files, 45 tokens');
    assert.equal(summarize(normalizeManifest({})), '0 chunks, 0 tokens');
  });
});

describe('renderManifestHtml', () => {
  test('escapes everything a file name or reason could smuggle in', () => {
    const html = renderManifestHtml(normalizeManifest({ items: [{ path: '<img src=x onerror=alert(1)>.py', start_line: 1, end_line: 2, tokens: 3, reason: '"><script>' }] }));
    assert.ok(!html.includes('<img'));
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;.py:1-2'));
  });
  test('checkboxes only in the consent form, one per item, all checked', () => {
    const m = normalizeManifest(serverManifest);
    assert.equal((renderManifestHtml(m).match(/type="checkbox"/g) ?? []).length, 0);
    const html = renderManifestHtml(m, { checkboxes: true });
    assert.equal((html.match(/type="checkbox" class="keep" data-id="[^"]+" checked/g) ?? []).length, 2);
    assert.ok(html.includes('Never sent: .env (never-send: .env*)'));
    assert.ok(html.includes('Redacted: 1 secret'));
  });
  test('escapeHtml', () => assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;'));
});

describe('linkCitations', () => {
  test('path:line and path:line-line become links that open the file; the rest is escaped', () => {
    const html = linkCitations('See server/settings.py:217 and (mux.go:295-310), not <b>x</b> or 10:30.');
    assert.equal(
      html,
      'See <a class="loc" data-path="server/settings.py" data-line="217">server/settings.py:217</a> and ' +
        '(<a class="loc" data-path="mux.go" data-line="295">mux.go:295-310</a>), not &lt;b&gt;x&lt;/b&gt; or 10:30.',
    );
  });
  test('no citation: plain escaped text', () => {
    assert.equal(linkCitations('a < b'), 'a &lt; b');
  });
});
