/**
 * What the status bar item says: model, route (local or remote) and indexing progress.
 * Pure: takes the `stead/status` result (or the lack of one) and returns text and tooltip.
 */

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusView {
  text: string;
  tooltip: string;
  /** True while something is in progress (the item spins). */
  busy: boolean;
  error: boolean;
}

type Raw = Record<string, unknown>;

function shortModel(model: string): string {
  const base = model.split(/[\\/]/).pop() ?? model;
  return base.replace(/\.gguf$/i, '');
}

/** States of the server's index (server/handlers/index.py, index/api.py) that mean work. */
const BUSY = ['starting', 'scanning', 'indexing', 'optimizing', 'embedding', 'running', 'building', 'refreshing', 'waiting'];

/** Index progress as a short phrase, e.g. "indexing 40%" or "1,204 chunks". */
export function indexPhrase(index: Raw): { text: string; busy: boolean } {
  const state = typeof index['state'] === 'string' ? (index['state'] as string) : '';
  const done = typeof index['done'] === 'number' ? (index['done'] as number) : undefined;
  const total = typeof index['total'] === 'number' ? (index['total'] as number) : undefined;
  const pct = typeof index['percent'] === 'number' ? (index['percent'] as number)
    : done !== undefined && total ? Math.min(100, Math.floor((100 * done) / total)) : undefined;
  if (BUSY.includes(state)) {
    const verb = state === 'running' || state === 'building' || state === 'refreshing' ? 'indexing' : state;
    // full-text search works long before the vectors are in: say so
    const ready = index['search_ready'] === 'full text' ? ' (search ready)' : '';
    return { text: (pct !== undefined ? `${verb} ${pct}%` : verb) + ready, busy: true };
  }
  if (state === 'error' || state === 'failed') return { text: 'index error', busy: false };
  if (state === 'disabled' || state === 'off' || state === 'no workspace' || state === 'closed') return { text: '', busy: false };
  const chunks = typeof index['chunks'] === 'number' ? (index['chunks'] as number) : undefined;
  if (chunks !== undefined) return { text: `${chunks.toLocaleString('en-US')} chunks`, busy: false };
  return { text: state, busy: false };
}

export function statusView(state: ServerState, status: Raw | undefined, detail = ''): StatusView {
  if (state === 'failed') {
    return { text: '$(error) stead', tooltip: `stead: server not running. ${detail}`.trim(), busy: false, error: true };
  }
  if (state === 'stopped') {
    return { text: '$(circle-slash) stead', tooltip: 'stead: server stopped', busy: false, error: false };
  }
  if (state === 'starting' || !status) {
    return { text: '$(loading~spin) stead', tooltip: 'stead: starting the server…', busy: true, error: false };
  }
  const model = shortModel(typeof status['model'] === 'string' ? (status['model'] as string) : '?');
  const route = typeof status['route'] === 'string' ? (status['route'] as string) : 'local';
  const index = indexPhrase((status['index'] as Raw | undefined) ?? {});
  const modelError = status['model_state'] === 'error' && typeof status['model_error'] === 'string' ? (status['model_error'] as string) : '';
  const modelFix = typeof status['model_fix'] === 'string' ? (status['model_fix'] as string) : '';
  const icon = modelError ? '$(error)' : index.busy ? '$(sync~spin)' : route === 'local' ? '$(shield)' : '$(cloud-upload)';
  const text = [`${icon} stead`, modelError ? `${model}: model error` : model, route, index.text].filter(Boolean).join(' · ');
  const remote = status['remote_enabled'] ? 'remote escalation enabled (asks you each time)' : 'remote escalation off';
  const tooltip = [
    `stead ${typeof status['version'] === 'string' ? status['version'] : ''}`.trim(),
    `model: ${typeof status['model'] === 'string' ? status['model'] : '?'} (${typeof status['backend'] === 'string' ? status['backend'] : '?'})`,
    modelError ? `model error: ${modelError}` : '',
    modelError && modelFix ? `fix: ${modelFix}` : '',
    `route: ${route}; ${remote}`,
    index.text ? `index: ${index.text}` : '',
    indexDetail((status['index'] as Raw | undefined) ?? {}),
    'Click for the stead commands.',
  ].filter(Boolean).join('\n');
  return { text, tooltip, busy: index.busy, error: Boolean(modelError) };
}

/** The index's own words for the tooltip: its message, search mode, or error. */
function indexDetail(index: Raw): string {
  const parts: string[] = [];
  for (const key of ['summary', 'message', 'error', 'embedder_error', 'notice']) {
    const v = index[key];
    if (typeof v === 'string' && v) parts.push(v);
  }
  if (typeof index['search'] === 'string') parts.push(`search: ${index['search'] as string}`);
  return parts.join('; ');
}
