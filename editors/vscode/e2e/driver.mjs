// Drives a real VS Code (code-server) with the stead extension through headless Chromium.
//
//   node e2e/driver.mjs config.json
//
// config: { codeServer, chromium, extensionDir, workspace, scenario, settings, env, artifacts,
//           file?, type?, question?, timeoutMs?, defaultEditor?, userSettingsOnly? }
// Prints one JSON line (the scenario's observations) on stdout; exits 1 on failure after
// saving a screenshot and the logs under `artifacts`. Each run gets fresh user data and
// extension dirs, and code-server listens on 127.0.0.1 only, without auth.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { scenarios } from './scenarios.mjs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const timeoutMs = config.timeoutMs ?? 90_000;
const log = (...a) => process.stderr.write(`[driver ${((Date.now() - t0) / 1000).toFixed(1)}s] ${a.join(' ')}\n`);
const t0 = Date.now();

const tmp = mkdtempSync(path.join(tmpdir(), 'stead-code-server-'));
const userData = path.join(tmp, 'user-data');
const extensions = path.join(tmp, 'extensions');

function installExtension() {
  const pkg = JSON.parse(readFileSync(path.join(config.extensionDir, 'package.json'), 'utf8'));
  const dest = path.join(extensions, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  mkdirSync(dest, { recursive: true });
  for (const entry of ['package.json', 'out', 'media', 'README.md', 'LICENSE']) {
    const src = path.join(config.extensionDir, entry);
    if (existsSync(src)) cpSync(src, path.join(dest, entry), { recursive: true, filter: (p) => !p.includes(`${path.sep}out${path.sep}test`) });
  }
}

function writeSettings() {
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'security.workspace.trust.enabled': false,
    // defaultEditor: VS Code's own editor defaults (the suggest widget opens as you type)
    ...(config.defaultEditor ? {} : {
      'editor.inlineSuggest.enabled': true,
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
      'editor.suggestOnTriggerCharacters': false,
      'editor.acceptSuggestionOnEnter': 'off',
    }),
    'files.autoSave': 'off',
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.colorTheme': 'Default Dark Modern',
    ...config.settings,
  };
  // User settings, and Machine settings (code-server is a remote window: machine-scoped
  // settings are only read from there); userSettingsOnly: as a user would, User only.
  for (const dir of config.userSettingsOnly ? ['User'] : ['User', 'Machine']) {
    mkdirSync(path.join(userData, dir), { recursive: true });
    writeFileSync(path.join(userData, dir, 'settings.json'), JSON.stringify(settings, null, 2));
  }
}

function startCodeServer() {
  const args = [
    '--auth', 'none', '--bind-addr', '127.0.0.1:0',
    '--user-data-dir', userData, '--extensions-dir', extensions,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--disable-proxy', '--ignore-last-opened',
    config.workspace,
  ];
  const child = spawn(config.codeServer, args, { env: { ...process.env, ...config.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = new Promise((resolve, reject) => {
    const onData = (buf) => {
      const text = buf.toString();
      out += text;
      process.stderr.write(text.split('\n').filter(Boolean).map((l) => `[code-server] ${l}\n`).join(''));
      const m = out.match(/HTTP server listening on (http:\/\/127\.0\.0\.1:\d+\/?)/);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`code-server exited with ${code} before listening:\n${out}`)));
    setTimeout(() => reject(new Error(`code-server did not listen within 60 s:\n${out}`)), 60_000);
  });
  return { child, url };
}

function collectLogs(dest) {
  // VS Code's own logs, including the extension host and the stead output channels.
  const logs = path.join(userData, 'logs');
  if (!existsSync(logs)) return;
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/exthost|stead|remoteagent|renderer/i.test(p)) {
        const rel = path.relative(logs, p).replace(/[\\/]/g, '__');
        cpSync(p, path.join(dest, rel));
      }
    }
  };
  walk(logs);
}

let server;
let browser;
let page;
let failed = false;
const watchdog = setTimeout(() => {
  log(`watchdog: the scenario took more than ${timeoutMs} ms`);
  void finish(new Error(`timed out after ${timeoutMs} ms`));
}, timeoutMs);

async function finish(error) {
  if (error) {
    failed = true;
    log(`FAILED: ${error.stack ?? error}`);
    if (config.artifacts) {
      mkdirSync(config.artifacts, { recursive: true });
      try {
        if (page) await page.screenshot({ path: path.join(config.artifacts, `${config.scenario}.png`), timeout: 10_000 });
        log(`screenshot: ${path.join(config.artifacts, `${config.scenario}.png`)}`);
      } catch (e) {
        log(`no screenshot: ${e}`);
      }
      try {
        collectLogs(config.artifacts);
      } catch (e) {
        log(`no logs: ${e}`);
      }
    }
  }
  clearTimeout(watchdog);
  try {
    await browser?.close();
  } catch {}
  if (server) {
    server.child.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        server.child.kill('SIGKILL');
        r();
      }, 5000);
      server.child.on('exit', () => {
        clearTimeout(t);
        r();
      });
      if (server.child.exitCode !== null) r();
    });
  }
  if (!config.keepTmp) rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

try {
  const scenario = scenarios[config.scenario];
  if (!scenario) throw new Error(`unknown scenario ${config.scenario}; known: ${Object.keys(scenarios).join(', ')}`);
  installExtension();
  writeSettings();
  server = startCodeServer();
  const url = await server.url;
  log(`code-server at ${url}`);
  browser = await chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-features=Translate'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Only loopback: anything else the page tries is blocked (and would be a bug).
  await context.route((u) => !/^(http|ws)s?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(u.href) && !u.href.startsWith('data:') && !u.href.startsWith('blob:'), (r) => r.abort());
  page = await context.newPage();
  page.on('pageerror', (e) => log(`pageerror: ${e.message}`));
  await page.goto(`${url.replace(/\/$/, '')}/?folder=${encodeURIComponent(config.workspace)}`);
  const result = await scenario(page, { ...config, userData }, log);
  if (config.screenshotAlways && config.artifacts) {
    mkdirSync(config.artifacts, { recursive: true });
    await page.screenshot({ path: path.join(config.artifacts, `${config.scenario}-done.png`) });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  log('done');
  await finish();
} catch (error) {
  await finish(error);
}
