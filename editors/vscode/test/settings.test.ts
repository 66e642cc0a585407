import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientSettings, explicitValue, serverCommand, serverSettings, settingsUpdate, workspaceCandidates, type ClientSettings, type Inspected } from '../src/settings';

describe('explicitValue', () => {
  const cases: [string, Inspected | undefined, unknown][] = [
    ['nothing set', { defaultValue: 64 }, undefined],
    ['undefined inspect', undefined, undefined],
    ['user value', { defaultValue: 64, globalValue: 32 }, 32],
    ['workspace beats user', { globalValue: 32, workspaceValue: 16 }, 16],
    ['folder beats workspace', { globalValue: 32, workspaceValue: 16, workspaceFolderValue: 8 }, 8],
    ['false is a value', { defaultValue: true, globalValue: false }, false],
  ];
  for (const [name, inspected, want] of cases) {
    test(name, () => assert.equal(explicitValue(inspected), want));
  }
});

describe('serverSettings', () => {
  const keys = [
    'stead.server.path',
    'stead.trace.server',
    'stead.ui.statusBar',
    'stead.model.path',
    'stead.completion.maxTokens',
    'stead.completion.enabled',
    'stead.remote.providers',
    'stead.logLevel',
  ];
  test('only explicitly set server keys are sent, nested', () => {
    const values: Record<string, Inspected> = {
      'server.path': { globalValue: '/usr/bin/stead' },
      'trace.server': { globalValue: 'verbose' },
      'model.path': { globalValue: '/m/tiny.gguf' },
      'completion.maxTokens': { defaultValue: 64, workspaceValue: 12 },
      'completion.enabled': { defaultValue: true },
      'remote.providers': { globalValue: { work: { url: 'https://x', model: 'm' } } },
      logLevel: { globalValue: 'debug' },
    };
    assert.deepEqual(serverSettings(keys, (k) => values[k]), {
      model: { path: '/m/tiny.gguf' },
      completion: { maxTokens: 12 },
      remote: { providers: { work: { url: 'https://x', model: 'm' } } },
      logLevel: 'debug',
    });
  });
  test('nothing set sends an empty object (the server config file applies)', () => {
    assert.deepEqual(serverSettings(keys, () => ({ defaultValue: 1 })), {});
  });
  test('invalid values are passed through for the server to report by name', () => {
    assert.deepEqual(serverSettings(keys, (k) => (k === 'completion.maxTokens' ? { globalValue: 'lots' } : undefined)), {
      completion: { maxTokens: 'lots' },
    });
  });
});

describe('clientSettings', () => {
  test('defaults', () => {
    const r = clientSettings(() => undefined);
    assert.deepEqual(r.problems, []);
    assert.equal(r.settings.maxRestarts, 4);
  });
  const bad: [string, unknown, string][] = [
    ['server.maxRestarts', -1, 'stead.server.maxRestarts'],
    ['server.maxRestarts', 2.5, 'stead.server.maxRestarts'],
    ['server.maxRestarts', 'three', 'stead.server.maxRestarts'],
    ['server.args', 'serve -v', 'stead.server.args'],
    ['server.args', [1, 2], 'stead.server.args'],
    ['server.path', 42, 'stead.server.path'],
    ['ui.statusBar', 'yes', 'stead.ui.statusBar'],
    ['ui.completionPopup', 1, 'stead.ui.completionPopup'],
  ];
  for (const [key, value, named] of bad) {
    test(`bad ${key}=${JSON.stringify(value)} keeps the default and names the setting`, () => {
      const r = clientSettings((k) => (k === key ? value : undefined));
      assert.equal(r.problems.length, 1);
      assert.ok(r.problems[0]!.startsWith(named), r.problems[0]);
      assert.deepEqual(r.settings, clientSettings(() => undefined).settings);
    });
  }
  test('good values are taken', () => {
    const values: Record<string, unknown> = { 'server.path': ' /opt/stead ', 'server.args': ['-v'], 'server.maxRestarts': 0, 'ui.statusBar': false };
    const r = clientSettings((k) => values[k]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.settings, { serverPath: '/opt/stead', pythonPath: '', serverArgs: ['-v'], maxRestarts: 0, statusBar: false, completionPopup: false });
  });
});

describe('serverCommand', () => {
  const base: ClientSettings = { serverPath: '', pythonPath: '', serverArgs: [], maxRestarts: 4, statusBar: true, completionPopup: false };
  const onPath = (found: Record<string, string>) => (n: string) => found[n];
  const cases: [string, Partial<ClientSettings>, Record<string, string>, { command?: string; args?: string[]; error?: RegExp }][] = [
    ['stead on PATH', {}, { stead: '/usr/bin/stead' }, { command: '/usr/bin/stead', args: ['serve'] }],
    ['explicit path', { serverPath: '/opt/stead' }, { '/opt/stead': '/opt/stead' }, { command: '/opt/stead', args: ['serve'] }],
    ['python interpreter', { pythonPath: '/venv/bin/python', serverArgs: ['-v'] }, { '/venv/bin/python': '/venv/bin/python' }, { command: '/venv/bin/python', args: ['-m', 'server', '-v', 'serve'] }],
    ['path wins over python', { serverPath: '/opt/stead', pythonPath: '/py' }, { '/opt/stead': '/opt/stead', '/py': '/py' }, { command: '/opt/stead' }],
    ['not installed', {}, {}, { error: /`stead` command was not found/ }],
    ['bad explicit path', { serverPath: '/nope' }, { stead: '/usr/bin/stead' }, { error: /stead\.server\.path/ }],
    ['bad python', { pythonPath: '/nope/python' }, {}, { error: /stead\.server\.pythonPath/ }],
  ];
  for (const [name, settings, found, want] of cases) {
    test(name, () => {
      const r = serverCommand({ ...base, ...settings }, onPath(found));
      if (want.error) {
        assert.equal(r.ok, false);
        if (!r.ok) {
          assert.match(r.message, want.error);
          assert.match(r.fix, /pip/);
        }
      } else {
        assert.equal(r.ok, true);
        if (r.ok) {
          assert.equal(r.command, want.command);
          if (want.args) assert.deepEqual(r.args, want.args);
        }
      }
    });
  }
});

describe('serverCommand fallbacks and the install path', () => {
  const base: ClientSettings = { serverPath: '', pythonPath: '', serverArgs: [], maxRestarts: 4, statusBar: true, completionPopup: false };
  const venvs = workspaceCandidates(['/ws/a', '/ws/b']);
  test('a workspace virtualenv is tried when stead is not on PATH', () => {
    assert.deepEqual(venvs.slice(0, 2), ['/ws/a/.venv/bin/stead', '/ws/a/venv/bin/stead']);
    const r = serverCommand(base, (n) => (n === '/ws/b/.venv/bin/stead' ? n : undefined), venvs);
    assert.equal(r.ok, true);
    if (r.ok) {
      assert.equal(r.command, '/ws/b/.venv/bin/stead');
      assert.match(r.description, /not on PATH; found in the workspace/);
    }
  });
  test('PATH wins over the workspace', () => {
    const r = serverCommand(base, (n) => (n === 'stead' ? '/usr/bin/stead' : n), venvs);
    assert.ok(r.ok && r.command === '/usr/bin/stead');
  });
  test('the failure says what was tried and names the setting and the one install path', () => {
    const r = serverCommand(base, () => undefined, venvs);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.message, /not found on the editor's PATH nor at \/ws\/a\/\.venv\/bin\/stead/);
      assert.match(r.message, /stead\.server\.path/);
      assert.match(r.fix, /pip install \/path\/to\/stead/);
      assert.match(r.fix, /stead models install qwen2\.5-coder-0\.5b/);
      assert.doesNotMatch(r.fix, /pipx install stead/);
    }
  });
});

describe('settingsUpdate', () => {
  const defaults: Record<string, unknown> = { 'model.path': '', 'completion.maxTokens': 64, 'remote.providers': {}, logLevel: 'info' };
  const d = (k: string) => defaults[k];
  const cases: [string, object, object, object][] = [
    ['nothing removed', { model: { path: '/m' } }, { model: { path: '/n' } }, { model: { path: '/n' } }],
    ['a removed key is reset to its default', { model: { path: '/m' }, logLevel: 'debug' }, {}, { model: { path: '' }, logLevel: 'info' }],
    ['a removed object setting is reset whole', { remote: { providers: { a: { url: 'x' } } } }, { remote: { providers: { b: {} } } }, { remote: { providers: { b: {} } } }],
    ['removed providers become empty', { remote: { providers: { a: { url: 'x' } } } }, {}, { remote: { providers: {} } }],
    ['new keys pass', {}, { completion: { maxTokens: 8 } }, { completion: { maxTokens: 8 } }],
  ];
  for (const [name, initial, current, want] of cases) {
    test(name, () => assert.deepEqual(settingsUpdate(initial as never, current as never, d), want));
  }
});
