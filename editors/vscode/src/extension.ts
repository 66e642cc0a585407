/**
 * stead for VS Code: a thin client of the local stead language server.
 *
 * Inline completions (ghost text) come straight from the server through
 * vscode-languageclient; this file adds what the protocol does not cover: the status bar,
 * the commands (index, search, ask/chat, remote escalation with consent, history, audit),
 * and settings changes. No telemetry: the only process this talks to is the local server.
 */
import * as vscode from 'vscode';
import { ChatPanel, openLocation } from './chatPanel';
import { METHODS, SteadClient } from './client';
import { planSend } from './consent';
import { askConsent } from './consentPanel';
import { auditMessage, historyMarkdown, historyRow } from './history';
import { normalizeManifest } from './manifest';
import { TraceChannel } from './logs';
import { isClientKey } from './settings';
import { statusView } from './status';

let steadClient: SteadClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<{ client: () => SteadClient | undefined }> {
  const output = vscode.window.createOutputChannel('stead', { log: true });
  // `stead.trace.server` alone turns the LSP trace on (see TraceChannel)
  const trace = new TraceChannel(vscode.window.createOutputChannel('stead (LSP trace)'));
  const sc = new SteadClient(context, output, trace);
  steadClient = sc;
  context.subscriptions.push(output, trace, sc);

  // -- status bar --------------------------------------------------------------------
  const item = vscode.window.createStatusBarItem('stead.status', vscode.StatusBarAlignment.Right, 100);
  item.name = 'stead';
  item.command = 'stead.status';
  context.subscriptions.push(item);
  let lastStatus: Record<string, unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const render = (): void => {
    const view = statusView(sc.state, sc.state === 'running' ? lastStatus : undefined, sc.detail);
    item.text = view.text;
    item.tooltip = view.tooltip;
    item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    if (vscode.workspace.getConfiguration('stead').get('ui.statusBar', true)) item.show();
    else item.hide();
  };
  const poll = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (sc.state !== 'running') {
      render();
      return;
    }
    try {
      lastStatus = await sc.request<Record<string, unknown>>(METHODS.status, {});
    } catch (error) {
      output.appendLine(`status: ${String(error)}`);
    }
    const view = statusView(sc.state, lastStatus);
    render();
    timer = setTimeout(() => void poll(), view.busy ? 1000 : 10_000);
  };
  context.subscriptions.push({ dispose: () => timer && clearTimeout(timer) }, sc.onState(() => void poll()));
  render();

  sc.onReady((client) => {
    context.subscriptions.push(client.onNotification(METHODS.chatChunk, (params: unknown) => ChatPanel.current?.onChunk(params)));
  });

  // -- commands ----------------------------------------------------------------------
  const command = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          output.appendLine(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`stead: ${message}`);
          return undefined;
        }
      }),
    );
  };

  command('stead.chat', () => {
    ChatPanel.show(context, sc);
  });

  command('stead.ask', async (question?: unknown) => {
    const q = typeof question === 'string' ? question : await vscode.window.showInputBox({
      title: 'stead: ask about the code',
      prompt: 'Answered by your local model, with the workspace as context',
      value: selectedText(),
      ignoreFocusOut: true,
    });
    if (q) await ChatPanel.show(context, sc).ask(q);
  });

  command('stead.askRemote', async (question?: unknown) => {
    const provider = await pickProvider(sc);
    if (!provider) return;
    const q = typeof question === 'string' ? question : await vscode.window.showInputBox({
      title: `stead: ask ${provider} (a remote model)`,
      prompt: 'You will see exactly what would be sent, and approve or refuse it, before anything leaves this machine',
      value: selectedText(),
      ignoreFocusOut: true,
    });
    if (!q) return;
    const preview = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'stead: preparing the request (nothing is sent yet)…', cancellable: true },
      (_p, token) => sc.request<Record<string, unknown>>(METHODS.escalatePreview, { question: q, provider, ...escalationScope() }, token),
    );
    const manifest = normalizeManifest(preview);
    const decision = await askConsent(context, q, preview);
    const plan = planSend(manifest, decision);
    const id = preview['id'];
    if (!plan.approve) {
      await sc.request(METHODS.escalateSend, { id, approve: false });
      void vscode.window.showInformationMessage(plan.message);
      return;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: plan.message, cancellable: true },
      (_p, token) => sc.request<Record<string, unknown>>(METHODS.escalateSend, { id, dropped: plan.dropped, approve: true }, token),
    );
    const answer = typeof result['text'] === 'string' ? result['text'] : '';
    await ChatPanel.show(context, sc).showAnswer(q, answer, result['manifest'] ?? preview, `${manifest.provider} · ${manifest.model}`, 'remote');
  });

  command('stead.index', async () => {
    await sc.request(METHODS.index, {});
    void vscode.window.showInformationMessage('stead: indexing the workspace (progress in the status bar).');
    void poll();
  });

  command('stead.search', async () => {
    const query = await vscode.window.showInputBox({ title: 'stead: search the workspace index', value: selectedText(), ignoreFocusOut: true });
    if (!query) return;
    const raw = await sc.request<{ hits?: Record<string, unknown>[]; state?: string; error?: string }>(METHODS.search, { query, k: 30 });
    const hits = raw?.hits ?? [];
    if (!hits.length) {
      const why = raw?.error ? ` (${raw.error})` : raw?.state && raw.state !== 'ready' ? ` (index: ${raw.state})` : '';
      void vscode.window.showInformationMessage(`stead: nothing found for "${query}"${why}.`);
      return;
    }
    const pick = await vscode.window.showQuickPick(
      hits.map((h) => {
        // `uri` is absolute; `path` is relative to its folder (absolute with several folders)
        const uri = typeof h['uri'] === 'string' ? h['uri'] : '';
        const path = uri || String(h['path'] ?? '');
        const multi = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
        const shown = uri ? vscode.workspace.asRelativePath(vscode.Uri.parse(uri), multi) : path;
        const line = Number(h['start_line'] ?? 1);
        const text = typeof h['text'] === 'string' ? h['text'] : '';
        return {
          label: `${shown}:${line}`,
          description: [h['symbol'], h['kind']].filter((x) => typeof x === 'string' && x).join(' · '),
          detail: text.split('\n').find((l) => l.trim())?.trim() ?? '',
          path,
          line,
        };
      }),
      { title: `stead: ${hits.length} results for "${query}"`, matchOnDescription: true, matchOnDetail: true },
    );
    if (pick) await openLocation(pick.path, pick.line);
  });

  command('stead.history', async () => {
    const raw = await sc.request<{ entries?: Record<string, unknown>[] }>(METHODS.historyList, { limit: 200 });
    const entries = raw?.entries ?? [];
    if (!entries.length) {
      void vscode.window.showInformationMessage('stead: the history is empty.');
      return;
    }
    const pick = await vscode.window.showQuickPick(entries.map(historyRow), {
      title: 'stead: history (stored on this machine only)',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!pick) return;
    const full = await sc.request<Record<string, unknown>>(METHODS.historyShow, { id: pick.id });
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: historyMarkdown(full) });
    await vscode.window.showTextDocument(doc, { preview: true });
  });

  command('stead.auditVerify', async () => {
    const m = auditMessage(await sc.request<Record<string, unknown>>(METHODS.auditVerify, {}));
    if (m.ok) void vscode.window.showInformationMessage(m.message);
    else void vscode.window.showErrorMessage(m.message);
  });

  command('stead.status', async () => {
    const view = statusView(sc.state, lastStatus, sc.detail);
    const fix = lastStatus?.['model_state'] === 'error' && typeof lastStatus['model_fix'] === 'string' ? lastStatus['model_fix'] : '';
    const pick = await vscode.window.showQuickPick(
      [
        ...(fix ? [{ label: `$(terminal) Fix the model: ${fix}`, id: 'stead.fixModel' }] : []),
        { label: '$(comment-discussion) Open Chat', id: 'stead.chat' },
        { label: '$(search) Search the Workspace Index', id: 'stead.search' },
        { label: '$(database) Index the Workspace', id: 'stead.index' },
        { label: '$(history) Show History', id: 'stead.history' },
        { label: '$(verified) Verify the Audit Log', id: 'stead.auditVerify' },
        { label: '$(debug-restart) Restart the Server', id: 'stead.restart' },
        { label: '$(output) Show the Server Log', id: 'stead.showLog' },
      ],
      { title: view.tooltip.split('\n').join(' — ') },
    );
    if (pick?.id === 'stead.fixModel') {
      // typed into a terminal, not run: the user sees the command and presses Enter
      const terminal = vscode.window.createTerminal('stead');
      terminal.show();
      terminal.sendText(fix, false);
    } else if (pick) {
      await vscode.commands.executeCommand(pick.id);
    }
  });

  command('stead.restart', async () => {
    await sc.restart();
  });
  command('stead.showLog', () => output.show());
  command('stead.showTrace', () => trace.show());

  // Attached to every inline suggestion by the client middleware: accepting one is recorded.
  command('stead.completion.accepted', (params: unknown) => {
    sc.lastShown = undefined;
    if (sc.client && sc.state === 'running') void sc.client.sendNotification(METHODS.completionAccepted, params ?? {});
  });
  // Escape while a suggestion shows (keybinding in package.json): hide it as VS Code would,
  // and tell the server when it was ours (the cache forgets it; history records the outcome).
  command('stead.completion.dismiss', async () => {
    const shown = sc.lastShown;
    sc.lastShown = undefined;
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    if (shown && shown.uri === uri && sc.client && sc.state === 'running') {
      void sc.client.sendNotification(METHODS.completionRejected, shown);
    }
    await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
  });

  // -- settings ----------------------------------------------------------------------
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('stead')) return;
      const props = Object.keys(
        ((context.extension.packageJSON as { contributes: { configuration: { properties: object } } }).contributes.configuration.properties),
      );
      const restartNeeded = props.some((k) => isClientKey(k) && k.startsWith('stead.server.') && e.affectsConfiguration(k));
      if (restartNeeded) void sc.restart();
      else sc.pushSettings();
      render();
    }),
  );

  void sc.start();
  return { client: () => steadClient };
}

function selectedText(): string {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) return '';
  return editor.document.getText(editor.selection).slice(0, 500);
}

/** What an escalation sends by default: the selection, else the current file. */
function escalationScope(): Record<string, unknown> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.scheme !== 'file') return {};
  const out: Record<string, unknown> = { uri: editor.document.uri.toString() };
  if (!editor.selection.isEmpty) {
    const { start, end } = editor.selection;
    out['selection'] = { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } };
  }
  return out;
}

/** The remote provider to ask: the only one configured, or the user's pick. */
async function pickProvider(sc: SteadClient): Promise<string | undefined> {
  const effective = await sc.request<{ settings?: { remote?: { enabled?: boolean; providers?: Record<string, { model?: string; url?: string }> } } }>(METHODS.settings, {});
  const remote = effective.settings?.remote;
  const names = Object.keys(remote?.providers ?? {});
  if (!remote?.enabled || names.length === 0) {
    const why = !remote?.enabled ? 'remote escalation is off (`stead.remote.enabled`)' : 'no remote provider is configured (`stead.remote.providers`)';
    void vscode.window.showWarningMessage(`stead: ${why}. Everything stays on this machine.`, 'Open Settings').then((pick) => {
      if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', 'stead.remote');
    });
    return undefined;
  }
  if (names.length === 1) return names[0];
  const pick = await vscode.window.showQuickPick(
    names.map((n) => ({ label: n, description: [remote.providers?.[n]?.model, remote.providers?.[n]?.url].filter(Boolean).join(' · ') })),
    { title: 'stead: which remote provider?' },
  );
  return pick?.label;
}

export async function deactivate(): Promise<void> {
  await steadClient?.stop();
  steadClient = undefined;
}
