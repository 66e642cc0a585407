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
}

export interface ExcludedItem {
  path: string;
  why: string;
}

export interface Manifest {
  provider: string;
  model: string;
  route: string;
  items: ManifestItem[];
  excluded: ExcludedItem[];
  tokens: number;
  budget: number;
  costUsd: number | null;
  redactions: string[];
  notes: string[];
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
  if (Array.isArray(v)) {
    return v.map((r) => {
      if (typeof r === 'string') return r;
      const o = obj(r);
      const kind = str(pick(o, 'kind', 'type', 'name'), 'item');
      const count = num(pick(o, 'count', 'n'), 1);
      return `${count} ${kind}${count === 1 ? '' : 's'}`;
    });
  }
  const o = obj(v);
  return Object.entries(o)
    .filter(([, c]) => typeof c === 'number' && c > 0)
    .map(([kind, c]) => `${c as number} ${kind}${c === 1 ? '' : 's'}`);
}

export function normalizeManifest(raw: unknown): Manifest {
  const o = obj(raw);
  const items = list(pick(o, 'items', 'chunks')).map((r, i): ManifestItem => {
    const it = obj(r);
    const reasons = pick(it, 'reasons');
    const reason = Array.isArray(reasons) ? reasons.map((x) => str(x)).join(' + ') : str(pick(it, 'reason', 'why'));
    return {
      id: str(pick(it, 'id', 'key'), String(i)),
      path: str(pick(it, 'path', 'file', 'uri'), '(unknown)'),
      startLine: num(pick(it, 'start_line', 'startLine', 'start'), 0),
      endLine: num(pick(it, 'end_line', 'endLine', 'end'), 0),
      tokens: num(pick(it, 'tokens', 'token_count')),
      reason,
      detail: str(pick(it, 'detail')),
      redactions: redactionList(pick(it, 'redactions')),
    };
  });
  const excluded = list(pick(o, 'excluded', 'dropped', 'withheld')).map((r): ExcludedItem => {
    const it = obj(r);
    const lines = pick(it, 'start_line') !== undefined ? `:${num(it['start_line'])}-${num(it['end_line'])}` : '';
    return { path: str(pick(it, 'path', 'file'), '(unknown)') + lines, why: str(pick(it, 'why', 'reason', 'rule')) };
  });
  const tokensRaw = pick(o, 'tokens', 'token_count', 'input_tokens');
  const cost = pick(o, 'estimated_cost_usd', 'cost_usd', 'estimated_cost', 'cost');
  return {
    provider: str(pick(o, 'provider')),
    model: str(pick(o, 'model')),
    route: str(pick(o, 'route'), ''),
    items,
    excluded,
    tokens: typeof tokensRaw === 'number' ? tokensRaw : items.reduce((s, i) => s + i.tokens, 0),
    budget: num(pick(o, 'budget')),
    costUsd: typeof cost === 'number' && Number.isFinite(cost) ? cost : null,
    redactions: redactionList(pick(o, 'redactions')),
    notes: list(pick(o, 'notes', 'warnings')).map((n) => str(n)).filter(Boolean),
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
  if (m.redactions.length) parts.push(`<div class="manifest-redactions">Redacted: ${escapeHtml(m.redactions.join(', '))}</div>`);
  for (const n of m.notes) parts.push(`<div class="manifest-note">${escapeHtml(n)}</div>`);
  return `<div class="manifest">${parts.join('')}</div>`;
}
