/**
 * History entries and audit results as a person reads them: quick-pick rows and a Markdown
 * page. Pure functions over the server's JSON (`stead/history/list|show`, `stead/audit/verify`).
 */

type Raw = Record<string, unknown>;

const s = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Unix seconds (or an ISO string) as "2026-11-22 03:15". */
export function when(ts: unknown): string {
  const secs = n(ts);
  const d = secs !== undefined ? new Date(secs * 1000) : typeof ts === 'string' ? new Date(ts) : undefined;
  if (!d || Number.isNaN(d.getTime())) return '';
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

export interface HistoryRow {
  label: string;
  description: string;
  detail: string;
  id: number | string;
}

export function historyRow(e: Raw): HistoryRow {
  const kind = s(e['kind']) || 'entry';
  const route = s(e['route']);
  const icon = route === 'remote' ? '$(cloud-upload)' : kind === 'chat' ? '$(comment)' : kind === 'completion' ? '$(sparkle)' : '$(history)';
  const tokens = (n(e['prompt_tokens']) ?? 0) + (n(e['completion_tokens']) ?? 0);
  return {
    label: `${icon} ${kind}${e['private'] ? ' (private)' : ''}`,
    description: [when(e['ts']), s(e['model']), route, tokens ? `${tokens} tok` : ''].filter(Boolean).join(' · '),
    detail: s(e['summary']).replace(/\s+/g, ' ').slice(0, 200),
    id: typeof e['id'] === 'number' || typeof e['id'] === 'string' ? (e['id'] as number | string) : '',
  };
}

/** A fence longer than any backtick run inside `text`, so the text cannot close it. */
function fence(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  return '`'.repeat(longest + 1);
}

export function historyMarkdown(e: Raw): string {
  const lines = [`# ${s(e['kind']) || 'entry'} ${s(e['id']) ? `#${s(e['id'])}` : ''}`.trim(), ''];
  const facts: [string, string][] = [
    ['when', when(e['ts'])],
    ['model', s(e['model'])],
    ['route', s(e['route'])],
    ['outcome', s(e['outcome'])],
    ['tokens', e['prompt_tokens'] !== undefined ? `${s(e['prompt_tokens'])} in, ${s(e['completion_tokens'])} out` : ''],
    ['latency', n(e['latency_ms']) !== undefined ? `${Math.round(n(e['latency_ms'])!)} ms` : ''],
    ['workspace', s(e['workspace'])],
  ];
  for (const [k, v] of facts) if (v) lines.push(`- **${k}**: ${v}`);
  const files = Array.isArray(e['files']) ? (e['files'] as Raw[]) : [];
  if (files.length) {
    lines.push('', '## Files');
    for (const f of files) lines.push(`- ${s(f['path'])}${f['start_line'] ? `:${s(f['start_line'])}-${s(f['end_line'])}` : ''}`);
  }
  const red = e['redactions'] && typeof e['redactions'] === 'object' ? Object.entries(e['redactions'] as Raw) : [];
  if (red.length) lines.push('', `Redacted before storing: ${red.map(([k, v]) => `${s(v)} ${k}`).join(', ')}`);
  for (const [title, key] of [['Prompt (as stored, redacted)', 'prompt'], ['Response', 'response']] as const) {
    const text = s(e[key]);
    if (!text) continue;
    const f = fence(text);
    lines.push('', `## ${title}`, '', f, text, f);
  }
  const commits = Array.isArray(e['commits']) ? (e['commits'] as Raw[]) : [];
  if (commits.length) lines.push('', '## Commits', ...commits.map((c) => `- ${s(c['sha']).slice(0, 12)} (${s(c['confidence'])})`));
  return lines.join('\n') + '\n';
}

/** The audit verification as one sentence, and whether it is good news. */
export function auditMessage(r: Raw): { ok: boolean; message: string } {
  const count = n(r['records']) ?? n(r['entries']) ?? 0;
  const noun = `${count} record${count === 1 ? '' : 's'}`;
  if (r['ok'] === true) {
    return { ok: true, message: `stead: the audit log is intact (${noun}, hash chain verified).` };
  }
  const problems = Array.isArray(r['problems']) ? (r['problems'] as unknown[]).map(s).filter(Boolean) : [];
  const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
  return { ok: false, message: `stead: the audit log does NOT verify (${noun}): ${shown || 'hash chain broken'}` };
}
