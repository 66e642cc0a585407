/**
 * The chat view: questions, answers, and with every answer the context manifest it used.
 *
 * One panel per window. Questions go to `stead/chat` with the active editor's file and cursor
 * so the server can pick context; partial answers arrive as `stead/chat/chunk` notifications.
 * A new question cancels nothing already shown; closing the panel cancels what is in flight.
 */
import * as vscode from 'vscode';
import { METHODS, type SteadClient } from './client';
import type { ChatEvent, ChatRequest } from './webview/messages';
import { webviewHtml } from './webviewHtml';

interface ChatResult {
  conversation_id?: string;
  answer?: string;
  text?: string;
  manifest?: unknown;
  model?: string;
  route?: string;
}

export class ChatPanel implements vscode.Disposable {
  static current: ChatPanel | undefined;
  private nextId = 1;
  /** The conversation this panel continues (the server's id, from the first answer). */
  private conversationId: string | undefined;
  private readonly pending = new Map<number, vscode.CancellationTokenSource>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;

  static show(context: vscode.ExtensionContext, steadClient: SteadClient): ChatPanel {
    if (ChatPanel.current) {
      ChatPanel.current.panel.reveal(undefined, false);
      return ChatPanel.current;
    }
    const panel = vscode.window.createWebviewPanel('stead.chat', 'stead chat', vscode.ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'out'), vscode.Uri.joinPath(context.extensionUri, 'media')],
    });
    ChatPanel.current = new ChatPanel(panel, context, steadClient);
    return ChatPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    private readonly steadClient: SteadClient,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    panel.webview.html = webviewHtml(
      panel.webview,
      context.extensionUri,
      'chat',
      'stead chat',
      `<main id="log" aria-live="polite"></main>
<form id="ask"><textarea id="question" rows="3" disabled placeholder="Ask about your code (Enter to send, Shift+Enter for a new line)"></textarea>
<div class="ask-buttons"><button id="send" type="submit" disabled>Ask</button><button id="new" type="button" class="secondary" title="Start a new conversation">New</button></div></form>
<footer class="hint">Answers come from your local model; the files each answer used are listed under it.</footer>`,
    );
    this.disposables.push(
      panel.webview.onDidReceiveMessage((msg: ChatRequest) => this.onMessage(msg)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private post(event: ChatEvent): void {
    void this.panel.webview.postMessage(event);
  }

  private onMessage(msg: ChatRequest): void {
    if (msg.type === 'ready') this.markReady();
    else if (msg.type === 'ask') void this.ask(msg.question);
    else if (msg.type === 'open') void openLocation(msg.path, msg.line);
    else if (msg.type === 'new') this.conversationId = undefined;
  }

  /** Stream a chunk (from `stead/chat/chunk`) into the answer being written. */
  onChunk(params: unknown): void {
    const p = (params ?? {}) as { token?: unknown; text?: unknown };
    const m = typeof p.token === 'string' ? /^vscode-(\d+)$/.exec(p.token) : null;
    const id = m ? Number(m[1]) : NaN;
    if (typeof p.text === 'string' && p.text && this.pending.has(id)) this.post({ type: 'chunk', id, text: p.text });
  }

  async ask(question: string): Promise<void> {
    const q = question.trim();
    if (!q) return;
    await this.ready;
    const id = this.nextId++;
    this.post({ type: 'question', id, question: q });
    const cts = new vscode.CancellationTokenSource();
    this.pending.set(id, cts);
    // With the chat focused there is no active editor: use the one beside it.
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    const params: Record<string, unknown> = { question: q, token: `vscode-${id}` };
    if (this.conversationId) params['conversation_id'] = this.conversationId;
    if (editor) {
      params['uri'] = editor.document.uri.toString();
      params['position'] = { line: editor.selection.active.line, character: editor.selection.active.character };
      if (!editor.selection.isEmpty) params['selection'] = editor.document.getText(editor.selection);
    }
    try {
      const result = await this.steadClient.request<ChatResult>(METHODS.chat, params, cts.token);
      if (result?.conversation_id) this.conversationId = result.conversation_id;
      this.post({
        type: 'answer',
        id,
        answer: result?.answer ?? result?.text ?? '',
        manifest: result?.manifest ?? {},
        model: result?.model ?? '',
        route: result?.route ?? 'local',
      });
    } catch (error) {
      this.post({ type: 'error', id, message: error instanceof Error ? error.message : String(error) });
    } finally {
      this.pending.delete(id);
      cts.dispose();
    }
  }

  /** Show an answer obtained elsewhere (a remote escalation) with its manifest. */
  async showAnswer(question: string, answer: string, manifest: unknown, model: string, route: string): Promise<void> {
    await this.ready;
    const id = this.nextId++;
    this.post({ type: 'question', id, question });
    this.post({ type: 'answer', id, answer, manifest, model, route });
  }

  dispose(): void {
    ChatPanel.current = undefined;
    for (const cts of this.pending.values()) cts.cancel();
    this.pending.clear();
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

export async function openLocation(file: string, line: number): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const uri = file.startsWith('file:')
    ? vscode.Uri.parse(file)
    : file.startsWith('/') || folders.length === 0
      ? vscode.Uri.file(file)
      : vscode.Uri.joinPath(folders[0]!.uri, file);
  const pos = new vscode.Position(Math.max(0, line - 1), 0);
  await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos), preview: true });
}
