/**
 * The server's stderr and the LSP trace, as a user reading the "stead" output expects them.
 *
 * - vscode-languageclient logs every stderr line as an error. The server writes its log
 *   records there ("<date> <time> LEVEL name: message"), so each line keeps the level the
 *   server gave it (a traceback continues its record's level); only lines of unknown origin
 *   are shown as warnings.
 * - vscode-languageclient 10+ traces only while the trace channel's log level is Trace,
 *   which is set by "Developer: Set Log Level", not by `stead.trace.server`. The trace
 *   channel here is a plain output channel that reports Trace whenever that setting is not
 *   "off", so the documented setting is all it takes.
 */
import type { Readable } from 'node:stream';
import * as readline from 'node:readline';
import * as vscode from 'vscode';

import { isRecord, stderrLevel, type Level } from './stderr';

/** stdioOptions.stderr for the LanguageClient: each line at its own level. */
export function pipeStderr(input: Readable, channel: vscode.LogOutputChannel): void {
  let previous: Level | undefined;
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line: string) => {
    const level = stderrLevel(line, previous);
    if (isRecord(line)) previous = level;
    channel[level](line);
  });
}

/** stdioOptions.stdout (used only by transports other than stdio): info, as by default. */
export function pipeStdout(input: Readable, channel: vscode.LogOutputChannel): void {
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line: string) => channel.info(line));
}

/** A LogOutputChannel facade over a plain output channel, at Trace while tracing is on. */
export class TraceChannel implements vscode.LogOutputChannel {
  private readonly levelEmitter = new vscode.EventEmitter<vscode.LogLevel>();
  readonly onDidChangeLogLevel = this.levelEmitter.event;
  private readonly listener: vscode.Disposable;
  private level: vscode.LogLevel;

  constructor(private readonly channel: vscode.OutputChannel, private readonly section = 'stead') {
    this.level = this.current();
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(`${this.section}.trace.server`)) return;
      const level = this.current();
      if (level !== this.level) {
        this.level = level;
        this.levelEmitter.fire(level);
      }
    });
  }

  private current(): vscode.LogLevel {
    const value = vscode.workspace.getConfiguration(this.section).get<string>('trace.server', 'off');
    return value && value !== 'off' ? vscode.LogLevel.Trace : vscode.LogLevel.Info;
  }

  get name(): string {
    return this.channel.name;
  }
  get logLevel(): vscode.LogLevel {
    return this.level;
  }
  trace(message: string): void {
    if (this.level === vscode.LogLevel.Trace) this.channel.appendLine(message);
  }
  debug(message: string): void {
    this.channel.appendLine(message);
  }
  info(message: string): void {
    this.channel.appendLine(message);
  }
  warn(message: string): void {
    this.channel.appendLine(`[warn] ${message}`);
  }
  error(error: string | Error): void {
    this.channel.appendLine(`[error] ${error instanceof Error ? error.message : error}`);
  }
  append(value: string): void {
    this.channel.append(value);
  }
  appendLine(value: string): void {
    this.channel.appendLine(value);
  }
  replace(value: string): void {
    this.channel.replace(value);
  }
  clear(): void {
    this.channel.clear();
  }
  show(preserveFocus?: boolean): void;
  show(column?: vscode.ViewColumn, preserveFocus?: boolean): void;
  show(a?: boolean | vscode.ViewColumn, b?: boolean): void {
    if (typeof a === 'boolean' || a === undefined) this.channel.show(a);
    else this.channel.show(a, b);
  }
  hide(): void {
    this.channel.hide();
  }
  dispose(): void {
    this.listener.dispose();
    this.levelEmitter.dispose();
    this.channel.dispose();
  }
}
