/** Consent dialog script: shows the whole manifest; approve (with unticked items dropped) or refuse. */
import { escapeHtml, formatCost, normalizeManifest, renderManifestHtml } from '../manifest';
import type { ConsentEvent } from './messages';
import { vscode, wireLocations } from './vscodeApi';

const request = document.getElementById('request') as HTMLElement;
const manifestEl = document.getElementById('manifest') as HTMLElement;
const approve = document.getElementById('approve') as HTMLButtonElement;
const refuse = document.getElementById('refuse') as HTMLButtonElement;
// Both are disabled in the HTML until this script runs: approve until the manifest is shown.

window.addEventListener('message', (e: MessageEvent<ConsentEvent>) => {
  const m = normalizeManifest(e.data.manifest);
  request.innerHTML =
    `<dl>` +
    `<dt>Question</dt><dd class="q">${escapeHtml(e.data.question)}</dd>` +
    `<dt>Provider</dt><dd class="provider">${escapeHtml(m.provider || '(unnamed)')}</dd>` +
    `<dt>Model</dt><dd class="model">${escapeHtml(m.model || '(default)')}</dd>` +
    `<dt>Tokens</dt><dd class="token-count">${m.tokens}</dd>` +
    `<dt>Estimated cost</dt><dd class="cost">${escapeHtml(formatCost(m.costUsd))}</dd>` +
    `</dl>`;
  manifestEl.innerHTML = renderManifestHtml(m, { checkboxes: true });
  approve.textContent = `Approve and send to ${m.provider || 'the remote model'}`;
  approve.disabled = false;
});

approve.addEventListener('click', () => {
  const keep = Array.from(manifestEl.querySelectorAll<HTMLInputElement>('input.keep'))
    .filter((b) => b.checked)
    .map((b) => b.dataset['id'] ?? '');
  approve.disabled = refuse.disabled = true;
  vscode.postMessage({ type: 'approve', keep });
});
refuse.addEventListener('click', () => {
  approve.disabled = refuse.disabled = true;
  vscode.postMessage({ type: 'refuse' });
});
wireLocations(manifestEl);
refuse.disabled = false;
vscode.postMessage({ type: 'ready' });
