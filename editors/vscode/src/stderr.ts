/** The level of each line the server writes to stderr (pure: no `vscode`, unit-tested). */
export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const RECORD = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)? (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;
const LEVELS: Record<string, Level> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' };

/** The level of one stderr line: its record's, else the previous record's (continuation). */
export function stderrLevel(line: string, previous: Level | undefined): Level {
  const m = RECORD.exec(line);
  if (m) return LEVELS[m[1] ?? ''] ?? 'info';
  return previous ?? 'warn';
}

/** True for the first line of one of the server's log records. */
export function isRecord(line: string): boolean {
  return RECORD.test(line);
}
