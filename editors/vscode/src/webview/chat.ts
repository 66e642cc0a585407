/** Chat view script: renders the conversation and the manifest under every answer. */
import { escapeHtml, linkCitations, normalizeManifest, renderManifestHtml } from '../manifest';
import type { ChatEvent } from './messages';
import { vscode, wireLocations } from './vscodeApi';

const log = document.getElementById('log') as HTMLElement;
const form = document.getElementById('ask') as HTMLFormElement;
const input = document.getElementById('question') as HTMLTextAreaElement;
const send = document.getElementById('send') as HTMLButtonElement;
const turns = new Map<number, HTMLElement>();

/** Plain text with fenced code blocks kept as <pre>; everything escaped; `path:line` outside code opens the file. */
export function renderAnswer(text: string): string {
  const parts = text.split(/```[^\n]*\n?/);
  return parts
    .map((part, i) => (i % 2 === 1 ? `<pre><code>${escapeHtml(part)}</code></pre>` : `<p>${linkCitations(part).replace(/\n/g, '<br>')}</p>`))
    .join('');
}

function turn(id: number): HTMLElement {
  let el = turns.get(id);
  if (!el) {
    el = document.createElement('section');
    el.className = 'turn';
    el.dataset['id'] = String(id);
    log.appendChild(el);
    turns.set(id, el);
  }
  return el;
}

window.addEventListener('message', (e: MessageEvent<ChatEvent>) => {
  const msg = e.data;
  if (msg.type !== 'question' && !turns.has(msg.id)) {
    send.disabled = false; // an answer to a conversation the user cleared
    return;
  }
  const el = turn(msg.id);
  if (msg.type === 'question') {
    el.innerHTML = `<div class="question">${escapeHtml(msg.question)}</div><div class="answer pending">Thinking…</div>`;
  } else if (msg.type === 'chunk') {
    const a = el.querySelector('.answer') as HTMLElement;
    if (a.classList.contains('pending')) {
      a.classList.remove('pending');
      a.dataset['raw'] = '';
    }
    a.dataset['raw'] = (a.dataset['raw'] ?? '') + msg.text;
    a.innerHTML = renderAnswer(a.dataset['raw']);
  } else if (msg.type === 'answer') {
    const a = el.querySelector('.answer') as HTMLElement;
    a.classList.remove('pending');
    a.innerHTML = renderAnswer(msg.answer || '(empty answer)');
    const by = [msg.model, msg.route].filter(Boolean).join(' · ');
    el.insertAdjacentHTML('beforeend', `${by ? `<div class="by">${escapeHtml(by)}</div>` : ''}${renderManifestHtml(normalizeManifest(msg.manifest))}`);
    send.disabled = false;
  } else if (msg.type === 'error') {
    const a = el.querySelector('.answer') as HTMLElement;
    a.classList.remove('pending');
    a.classList.add('error');
    a.textContent = `Error: ${msg.message}`;
    send.disabled = false;
  }
  el.scrollIntoView({ block: 'end' });
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  input.value = '';
  send.disabled = true;
  vscode.postMessage({ type: 'ask', question });
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    form.requestSubmit();
  }
});
(document.getElementById('new') as HTMLButtonElement).addEventListener('click', () => {
  log.innerHTML = '';
  turns.clear();
  vscode.postMessage({ type: 'new' });
  input.focus();
});
wireLocations(log);
vscode.postMessage({ type: 'ready' });
// The box is disabled in the HTML until these handlers exist: a question typed and sent
// while the view was still loading would otherwise be lost without a word.
input.disabled = false;
send.disabled = false;
input.focus();
