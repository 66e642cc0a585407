/**
 * The escalation consent dialog: the full manifest of a remote request, and three choices.
 *
 * Shown before anything leaves the machine. The user approves (optionally after unticking
 * items), or refuses; closing the dialog is a refusal. The promise resolves once, with the
 * decision; the caller sends nothing unless it is an approval.
 */
import * as vscode from 'vscode';
import type { Decision } from './consent';
import type { ConsentEvent, ConsentReply } from './webview/messages';
import { openLocation } from './chatPanel';
import { webviewHtml } from './webviewHtml';

export function askConsent(context: vscode.ExtensionContext, question: string, manifest: unknown): Promise<Decision> {
  const panel = vscode.window.createWebviewPanel('stead.consent', 'stead: approve remote request?', vscode.ViewColumn.Active, {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'out'), vscode.Uri.joinPath(context.extensionUri, 'media')],
  });
  panel.webview.html = webviewHtml(
    panel.webview,
    context.extensionUri,
    'consent',
    'stead: approve remote request?',
    `<h2>Send this request to a remote model?</h2>
<p class="warning">Nothing has been sent yet. Untick anything you do not want to send.</p>
<section id="request"></section>
<section id="manifest"></section>
<div class="buttons"><button id="approve" disabled>Approve and send</button> <button id="refuse" class="secondary" disabled>Refuse</button></div>`,
  );
  return new Promise<Decision>((resolve) => {
    let done = false;
    const finish = (d: Decision): void => {
      if (done) return;
      done = true;
      resolve(d);
      sub.dispose();
      closed.dispose();
      panel.dispose();
    };
    const sub = panel.webview.onDidReceiveMessage((msg: ConsentReply | { type: 'ready' }) => {
      if (msg.type === 'ready') {
        const event: ConsentEvent = { type: 'manifest', manifest, question };
        void panel.webview.postMessage(event);
      } else if (msg.type === 'approve') finish({ kind: 'approve', keep: msg.keep });
      else if (msg.type === 'refuse') finish({ kind: 'refuse' });
      else if (msg.type === 'open') void openLocation(msg.path, msg.line);
    });
    const closed = panel.onDidDispose(() => finish({ kind: 'refuse' }));
  });
}
