/**
 * Starting, watching and restarting the stead language server.
 *
 * The server is `stead serve` on stdio (or `<python> -m server serve`). Settings the user set
 * travel as initializationOptions and later as didChangeConfiguration. A crashing server is
 * restarted a bounded number of times (RestartPolicy) and the user is told each time; a
 * missing server gives one clear message with the fix instead of a stack trace.
 */
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { RestartPolicy } from './restart';
import { pipeStderr, pipeStdout } from './logs';
import { acceptedParams, clientSettings, serverCommand, serverSettings, settingsUpdate, workspaceCandidates, type ClientSettings, type JsonObject } from './settings';
import type { ServerState } from './status';
import { which } from './which';

export const METHODS = {
  status: 'stead/status',
  settings: 'stead/settings',
  index: 'stead/index',
  indexStatus: 'stead/indexStatus',
  search: 'stead/search',
  chat: 'stead/chat',
  chatChunk: 'stead/chat/chunk',
  escalatePreview: 'stead/escalate/preview',
  escalateSend: 'stead/escalate/send',
  historyList: 'stead/history/list',
  historyShow: 'stead/history/show',
  auditVerify: 'stead/audit/verify',
  completionAccepted: 'stead/completion/accepted',
  completionRejected: 'stead/completion/rejected',
} as const;

/** Every key this extension declares in package.json (server settings are sent from these). */
function declaredKeys(context: vscode.ExtensionContext): string[] {
  const props = (context.extension.packageJSON as { contributes?: { configuration?: { properties?: object } } })
    .contributes?.configuration?.properties;
  return props ? Object.keys(props) : [];
}

export function readServerSettings(context: vscode.ExtensionContext): JsonObject {
  const config = vscode.workspace.getConfiguration('stead');
  return serverSettings(declaredKeys(context), (key) => config.inspect(key));
}

/** Settings that start a program: read from the user's settings only, never a workspace's. */
const USER_ONLY = new Set(['server.path', 'server.pythonPath', 'server.args']);

export function readClientSettings(): { settings: ClientSettings; problems: string[] } {
  const config = vscode.workspace.getConfiguration('stead');
  return clientSettings((key) => {
    if (!USER_ONLY.has(key)) return config.get(key);
    const seen = config.inspect(key);
    return seen?.globalValue ?? seen?.defaultValue;
  });
}

export class SteadClient implements vscode.Disposable {
  client: LanguageClient | undefined;
  state: ServerState = 'stopped';
  detail = '';
  private policy: RestartPolicy;
  /** What was sent as initializationOptions (see settingsUpdate). */
  private initialSettings: JsonObject = {};
  /** The suggestion most recently handed to the editor (cleared when accepted or dismissed). */
  lastShown: ReturnType<typeof acceptedParams> | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  readonly onState = this.stateEmitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly readyHooks: ((client: LanguageClient) => void)[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
    readonly trace: vscode.LogOutputChannel,
  ) {
    this.policy = new RestartPolicy(readClientSettings().settings.maxRestarts);
  }

  /** Run `hook` each time a (re)started client is ready (to register notification handlers). */
  onReady(hook: (client: LanguageClient) => void): void {
    this.readyHooks.push(hook);
    if (this.client && this.state === 'running') hook(this.client);
  }

  private setState(state: ServerState, detail = ''): void {
    this.state = state;
    this.detail = detail;
    this.stateEmitter.fire(state);
  }

  async start(): Promise<boolean> {
    const { settings, problems } = readClientSettings();
    for (const p of problems) void vscode.window.showWarningMessage(p);
    this.policy = new RestartPolicy(settings.maxRestarts);
    // a virtualenv inside the workspace is tried when stead is not on PATH, but only in a
    // trusted workspace: an untrusted one must not get to run a program of its own
    const folders = vscode.workspace.isTrusted ? (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath) : [];
    const cmd = serverCommand(settings, (n) => which(n), workspaceCandidates(folders, process.platform === 'win32'));
    if (!cmd.ok) {
      this.setState('failed', cmd.message);
      this.output.appendLine(`${cmd.message} ${cmd.fix}`);
      void vscode.window.showErrorMessage(`${cmd.message} ${cmd.fix}`, 'Open Settings').then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', 'stead.server');
      });
      return false;
    }
    this.output.appendLine(`starting ${cmd.description}: ${cmd.command} ${cmd.args.join(' ')}`);
    const serverOptions: ServerOptions = {
      command: cmd.command,
      args: cmd.args,
      transport: TransportKind.stdio,
      options: { env: { ...process.env } },
    };
    const initial = readServerSettings(this.context);
    this.initialSettings = initial;
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      initializationOptions: initial,
      outputChannel: this.output,
      traceOutputChannel: this.trace,
      // the server's log lines keep their own level (not every stderr line is an error)
      stdioOptions: { stdout: pipeStdout, stderr: pipeStderr },
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      middleware: {
        // Ghost text is the main surface; the same suggestion in the suggest popup is
        // opt-in (it would run the model twice and fight Tab).
        provideCompletionItem: (document, position, ctx, token, next) =>
          readClientSettings().settings.completionPopup ? next(document, position, ctx, token) : undefined,
        // Tag each suggestion so that accepting it is reported (stead/completion/accepted).
        // The last one shown is kept so that dismissing it (Escape) can report it rejected.
        provideInlineCompletionItems: async (document, position, ctx, token, next) => {
          const result = await next(document, position, ctx, token);
          const items = Array.isArray(result) ? result : result?.items ?? [];
          this.lastShown = undefined;
          for (const item of items) {
            const text = typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
            const params = acceptedParams(document.uri.toString(), text, position.line, position.character);
            item.command = { title: 'accepted', command: 'stead.completion.accepted', arguments: [params] };
            this.lastShown ??= params;
          }
          return result;
        },
      },
      initializationFailedHandler: (error) => {
        this.output.appendLine(`initialize failed: ${String(error)}`);
        return false;
      },
      errorHandler: {
        error: (_error, _message, count) => ({
          action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
        }),
        closed: () => {
          const d = this.policy.onCrash(Date.now());
          this.output.appendLine(d.message);
          if (d.restart) {
            this.setState('starting', d.message);
            void vscode.window.showWarningMessage(d.message);
            return { action: CloseAction.Restart, handled: true };
          }
          this.setState('failed', d.message);
          void vscode.window.showErrorMessage(d.message, 'Show Log', 'Restart').then((pick) => {
            if (pick === 'Show Log') this.output.show();
            if (pick === 'Restart') void this.restart();
          });
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new LanguageClient('stead', 'stead', serverOptions, clientOptions);
    this.client = client;
    this.disposables.push(
      client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          this.setState('running');
          for (const hook of this.readyHooks) hook(client);
        } else if (e.newState === State.Starting) {
          this.setState('starting');
        } else if (this.state !== 'failed') {
          this.setState('stopped');
        }
      }),
    );
    this.setState('starting');
    try {
      await client.start();
      return true;
    } catch (error) {
      const message = `stead: the server did not start (${String(error instanceof Error ? error.message : error)}). See "stead: Show the Server Log".`;
      this.setState('failed', message);
      void vscode.window.showErrorMessage(message, 'Show Log').then((pick) => {
        if (pick) this.output.show();
      });
      return false;
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(2000);
      } catch (error) {
        this.output.appendLine(`stop: ${String(error)}`);
      }
    }
    this.setState('stopped');
  }

  async restart(): Promise<boolean> {
    await this.stop();
    this.policy.reset();
    return this.start();
  }

  /** Send the settings the user set now (only when a server setting changed). */
  pushSettings(): void {
    if (this.client && this.state === 'running') {
      const props = (this.context.extension.packageJSON as { contributes?: { configuration?: { properties?: Record<string, { default?: unknown }> } } })
        .contributes?.configuration?.properties ?? {};
      const settings = settingsUpdate(this.initialSettings, readServerSettings(this.context), (key) => props[`stead.${key}`]?.default);
      void this.client.sendNotification('workspace/didChangeConfiguration', { settings: { stead: settings } });
    }
  }

  /** A request to the running server; a clear error when it is not running. */
  async request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
    const client = this.client;
    if (!client || this.state !== 'running') {
      throw new Error(`the stead server is not running${this.detail ? `: ${this.detail}` : ''}`);
    }
    return token ? client.sendRequest<R>(method, params, token) : client.sendRequest<R>(method, params);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.stateEmitter.dispose();
    void this.stop();
  }
}
