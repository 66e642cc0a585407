/** Find an executable on PATH, or check that a given path is one (Node only, no `vscode`). */
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function which(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const expanded = nameOrPath.startsWith('~') ? path.join(env['HOME'] ?? '', nameOrPath.slice(1)) : nameOrPath;
  const exts = process.platform === 'win32' ? (env['PATHEXT'] ?? '.EXE;.CMD;.BAT').split(';').concat('') : [''];
  if (expanded.includes('/') || expanded.includes('\\')) {
    for (const ext of exts) if (isExecutable(expanded + ext)) return path.resolve(expanded + ext);
    return undefined;
  }
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, expanded + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}
