/**
 * The context manifest: which code went into a prompt, shown with every answer.
 *
 * Servers send plain JSON (snake_case from Python); this module turns it into one typed
 * shape, tolerant of missing fields, and renders it as escaped HTML for the chat view and
 * the consent dialog. It has no `vscode` import: the webviews and the unit tests use it too.
 */

export interface ManifestItem {
  /** Stable id for dropping the item (the server's, else its index). */
  id: string;
  path: string;
  startLine: number;
  endLine: number;
  tokens: number;
  reason: string;
  detail: string;
  /** Redactions made inside this item, e.g. "1 secret", "2 emails". */
  redactions: string[];
  /** The exact (redacted) text that would be sent, when the server gives it. */
  text: string;
}

export interface ExcludedItem {
  path: string;
  why: string;
}

export interface Manifest {
  provider: string;
  model: string;
  route: string;
  url: string;
  items: ManifestItem[];
  /** Files never sent (never-send rules). */
  excluded: ExcludedItem[];
  /** Candidates left out of the context (over budget, duplicates). */
  leftOut: ExcludedItem[];
  tokens: number;
  budget: number;
  costUsd: number | null;
  redactions: string[];
  notes: string[];
  /** The exact request body, when the server shows it (escalation previews). */
  payload: string;
}

type Raw = Record<string, unknown>;

function obj(v: unknown): Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {};
}
function pick(o: Raw, ...names: string[]): unknown {
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
  return undefined;
}
function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback;
}
function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Redactions come as ["secret", ...], {"secret": 2}, or [{kind, count}]: make sentences. */
export function redactionList(v: unknown): string[] {
  const counts = new Map<string, number>();
  const add = (kind: string, n: number): void => {
    if (n > 0) counts.set(kind, (counts.get(kind) ?? 0) + n);
  };
  if (Array.isArray(v)) {
    for (const r of v) {
      if (typeof r === 'string') add(r, 1);
      else {
        const o = obj(r);
        add(str(pick(o, 'kind', 'type', 'name'), 'item'), num(pick(o, 'count', 'n'), 1));
      }
    }
  } else {
    for (const [kind, c] of Object.entries(obj(v))) if (typeof c === 'number') add(kind, c);
  }
  return [...counts].map(([kind, n]) => `${n} ${kind}${n === 1 || kind.endsWith('s') ? '' : 's'}`);
}

export function normalizeManifest(raw: unknown): Manifest {
  const o = obj(raw);
  const allRedactions = list(pick(o, 'redactions'));
  const items = list(pick(o, 'items', 'chunks')).map((r, i): ManifestItem => {
    const it = obj(r);
    const id = str(pick(it, 'index', 'id', 'key'), String(i));
    const own = pick(it, 'redactions') ?? allRedactions.filter((x) => str(obj(x)['item'], '\u0000') === id);
    const reasons = pick(it, 'reasons');
    const reason = Array.isArray(reasons) ? reasons.map((x) => str(x)).join(' + ') : str(pick(it, 'reason', 'why'));
    return {
      id,
      path: str(pick(it, 'path', 'file', 'uri'), '(unknown)'),
      startLine: num(pick(it, 'start_line', 'startLine', 'start'), 0),
      endLine: num(pick(it, 'end_line', 'endLine', 'end'), 0),
      tokens: num(pick(it, 'tokens', 'token_count')),
      reason,
      detail: str(pick(it, 'detail')),
      redactions: redactionList(own),
      text: str(pick(it, 'text')),
    };
  });
  const left = (v: unknown): ExcludedItem[] =>
    list(v).map((r): ExcludedItem => {
      const it = obj(r);
      const range = lineRange({ startLine: num(it['start_line']), endLine: num(it['end_line']) });
      return { path: str(pick(it, 'path', 'file'), '(unknown)') + (range ? `:${range}` : ''), why: str(pick(it, 'why', 'reason', 'rule')) };
    });
  const tokensRaw = pick(o, 'tokens', 'token_count', 'input_tokens');
  const cost = pick(o, 'estimated_cost_usd', 'cost_usd', 'estimated_cost', 'cost');
  return {
    provider: str(pick(o, 'provider')),
    model: str(pick(o, 'model')),
    route: str(pick(o, 'route'), ''),
    url: str(pick(o, 'url')),
    items,
    excluded: left(pick(o, 'excluded', 'withheld')),
    leftOut: left(pick(o, 'dropped')),
    tokens: typeof tokensRaw === 'number' ? tokensRaw : items.reduce((s, i) => s + i.tokens, 0),
    budget: num(pick(o, 'budget')),
    costUsd: typeof cost === 'number' && Number.isFinite(cost) ? cost : null,
    redactions: redactionList(allRedactions.length ? allRedactions : pick(o, 'redactions')),
    notes: list(pick(o, 'notes', 'warnings')).map((n) => str(n)).filter(Boolean),
    payload: str(pick(o, 'payload')),
  };
}

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** `path:line` (or `path:line-line`) citations in an answer, as the server asks the model to write them. */
const CITATION = /(^|[\s(\[`'"])((?:[\w.-]+\/)*[\w.-]+\.[A-Za-z0-9]{1,8}):(\d+)(?:-(\d+))?(?=$|[\s)\]`'",.;:!?])/g;

/** Escaped text whose `path:line` citations are links (class `loc`) that open the file at the line. */
export function linkCitations(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(CITATION)) {
    const start = (m.index ?? 0) + m[1]!.length;
    const cite = m[0].slice(m[1]!.length);
    out += escapeHtml(text.slice(last, start));
    out += `<a class="loc" data-path="${escapeHtml(m[2]!)}" data-line="${Number(m[3])}">${escapeHtml(cite)}</a>`;
    last = start + cite.length;
  }
  return out + escapeHtml(text.slice(last));
}

export function lineRange(item: Pick<ManifestItem, 'startLine' | 'endLine'>): string {
  if (!item.startLine) return '';
  return item.endLine && item.endLine !== item.startLine ? `${item.startLine}-${item.endLine}` : `${item.startLine}`;
}

export function formatCost(usd: number | null): string {
  if (usd === null) return 'unknown';
  if (usd === 0) return '$0';
  if (usd < 0.01) return `< $0.01 ($${usd.toFixed(5)})`;
  return `$${usd.toFixed(2)}`;
}

/** One line summary: "3 chunks from 2 files, 812 tokens". */
export function summarize(m: Manifest): string {
  const files = new Set(m.items.map((i) => i.path)).size;
  const chunks = `${m.items.length} chunk${m.items.length === 1 ? '' : 's'}`;
  const from = m.items.length ? ` from ${files} file${files === 1 ? '' : 's'}` : '';
  return `${chunks}${from}, ${m.tokens} token${m.tokens === 1 ? '' : 's'}`;
}

/**
 * The manifest as HTML (every value escaped). With `checkboxes`, each item gets a checkbox
 * (checked = send) so the consent dialog can drop items.
 */
export function renderManifestHtml(m: Manifest, opts: { checkboxes?: boolean } = {}): string {
  const rows = m.items
    .map((it) => {
      const box = opts.checkboxes
        ? `<input type="checkbox" class="keep" data-id="${escapeHtml(it.id)}" checked aria-label="send ${escapeHtml(it.path)}">`
        : '';
      const red = it.redactions.length ? ` <span class="redacted">redacted: ${escapeHtml(it.redactions.join(', '))}</span>` : '';
      const range = lineRange(it);
      return (
        `<li class="manifest-item" data-id="${escapeHtml(it.id)}">${box}` +
        `<a class="loc" data-path="${escapeHtml(it.path)}" data-line="${it.startLine}">${escapeHtml(it.path)}${range ? ':' + range : ''}</a>` +
        ` <span class="tokens">${it.tokens} tok</span>` +
        (it.reason ? ` <span class="reason">${escapeHtml(it.reason)}</span>` : '') +
        red +
        (it.text ? `<details class="item-text"><summary>text to send</summary><pre>${escapeHtml(it.text)}</pre></details>` : '') +
        `</li>`
      );
    })
    .join('');
  const parts = [`<div class="manifest-summary">Context: ${escapeHtml(summarize(m))}</div>`];
  if (m.items.length) parts.push(`<ul class="manifest-items">${rows}</ul>`);
  if (m.excluded.length) {
    parts.push(
      '<div class="manifest-excluded">Never sent: ' +
        m.excluded.map((e) => `${escapeHtml(e.path)}${e.why ? ` (${escapeHtml(e.why)})` : ''}`).join(', ') +
        '</div>',
    );
  }
  if (m.leftOut.length) {
    parts.push(
      '<details class="manifest-left-out"><summary>Left out: ' + m.leftOut.length + '</summary>' +
        m.leftOut.map((e) => `${escapeHtml(e.path)}${e.why ? ` (${escapeHtml(e.why)})` : ''}`).join(', ') +
        '</details>',
    );
  }
  if (m.redactions.length) parts.push(`<div class="manifest-redactions">Redacted: ${escapeHtml(m.redactions.join(', '))}</div>`);
  for (const n of m.notes) parts.push(`<div class="manifest-note">${escapeHtml(n)}</div>`);
  if (m.payload) {
    parts.push(`<details class="manifest-payload"><summary>Exact request body (${m.payload.length} characters)</summary><pre>${escapeHtml(m.payload)}</pre></details>`);
  }
  return `<div class="manifest">${parts.join('')}</div>`;
}
