import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stderrLevel } from '../src/stderr';

describe('stderrLevel', () => {
  const cases: [string, string, 'debug' | 'info' | 'warn' | 'error' | undefined, string][] = [
    ['an info record', '2026-12-04 18:05:39,884 INFO server.lsp: started', undefined, 'info'],
    ['a warning record', '2026-12-04 18:05:39,884 WARNING server.backends: model failed', 'info', 'warn'],
    ['a debug record', '2026-12-04 18:05:39,884 DEBUG server.native: Failed to load libllamamodel-mainline-cuda.so: dlopen', undefined, 'debug'],
    ['an error record', '2026-12-04 18:05:39,884 ERROR server.handlers.index: index full failed', undefined, 'error'],
    ['a traceback continues its record', 'Traceback (most recent call last):', 'error', 'error'],
    ['continuation of an info record', '  more detail', 'info', 'info'],
    ['a line of unknown origin', 'Failed to load libllamamodel-mainline-cuda.so: dlopen: libcudart.so.11.0', undefined, 'warn'],
  ];
  for (const [name, line, previous, want] of cases) {
    test(name, () => assert.equal(stderrLevel(line, previous), want));
  }
});
