import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
// The end-to-end scenarios: each takes the page (a code-server workbench) and returns what it
// observed; pytest (tests/test_editor_vscode.py) asserts on that and on the files on disk.

const STATUS = '.statusbar-item:has-text("stead")';

export async function waitForWorkbench(page, log) {
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  log('workbench up');
}

/** The stead status bar item once the server answered `stead/status` (it then names the route). */
export async function waitForServer(page, log) {
  const item = page.locator(STATUS).first();
  await item.waitFor({ timeout: 60_000 });
  await page.waitForFunction(
    (sel) => [...document.querySelectorAll('.statusbar-item')].some((e) => /stead/.test(e.textContent ?? '') && / · local/.test(e.textContent ?? '')),
    STATUS,
    { timeout: 60_000 },
  );
  const text = (await item.textContent())?.trim() ?? '';
  log(`status bar: ${text}`);
  return text;
}

export async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

export async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tab[aria-label*="${name}"]`).first().waitFor({ timeout: 15_000 });
  await page.locator('.monaco-editor .view-lines').first().click();
}

export async function gotoLineEnd(page, line) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`:${line}`);
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
}

/** The editor's visible lines as text (ghost text is not part of the model). */
export async function editorLines(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.monaco-editor .view-lines .view-line')]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' ')),
  );
}

/** The innermost frame of a webview panel whose content has `selector`. */
export async function webviewFrame(page, selector, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      try {
        if (await frame.locator(selector).count()) return frame;
      } catch {}
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no webview with ${selector}`);
}

/** Texts of the notification toasts on screen now. */
export async function toasts(page) {
  return (await page.locator('.notifications-toasts .notification-list-item-message').allTextContents()).map((t) => t.trim());
}

export async function waitForToast(page, text, timeout = 30_000) {
  const toast = page.locator('.notifications-toasts .notification-list-item-message', { hasText: text }).first();
  await toast.waitFor({ timeout });
  return ((await toast.textContent()) ?? '').trim();
}

async function statusText(page) {
  return ((await page.locator(STATUS).first().textContent()) ?? '').trim();
}

/** Pids of running stead servers whose command line contains `marker`. */
function serverPids(marker) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (cmd.includes('serve') && cmd.some((a) => a.includes(marker))) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

async function waitForPid(page, marker, not = []) {
  for (let i = 0; i < 300; i++) {
    const pids = serverPids(marker).filter((p) => !not.includes(p));
    if (pids.length) return pids[0];
    await page.waitForTimeout(100);
  }
  throw new Error(`no stead server with ${marker} in its command line`);
}

/** Beside the configured file, ask a remote model the configured question (the consent dialog follows). */
async function askRemote(page, config) {
  if (config.file) await openFile(page, config.file);
  await runCommand(page, 'stead: Ask a Remote Model');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(config.question);
  await page.keyboard.press('Enter');
}

/** Text of VS Code's saved output-channel logs whose file name matches `re`. */
function outputLogs(userData, re) {
  const found = [];
  const walk = (dir) => {
    let names = [];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (re.test(name)) found.push(readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(userData, 'logs'));
  return found.join('\n');
}

/** The suggest widget is on screen. */
async function suggestWidgetVisible(page) {
  return page.evaluate(() => [...document.querySelectorAll('.suggest-widget')].some((e) => e.classList.contains('visible') && e.getBoundingClientRect().height > 0));
}

export const scenarios = {
  /**
   * Default editor settings, settings in User settings only: mid-identifier the word-suggest
   * widget opens and the ghost text shows with it; the LSP trace follows stead.trace.server.
   */
  async firstrun(page, config, log) {
    await waitForWorkbench(page, log);
    const status = await waitForServer(page, log);
    await openFile(page, config.file);
    await gotoLineEnd(page, config.line);
    await page.keyboard.type(config.type, { delay: 80 });
    const ghost = page.locator('.ghost-text-decoration, .ghost-text-decoration-preview');
    let both = false;
    const deadline = Date.now() + 45_000;
    // a loaded machine can drop the quick-suggest trigger of the typed word: after 15 s without
    // the widget, open it as a user would (Ctrl+Space); the ghost text must still show beside it
    let retriggerAt = Date.now() + 15_000;
    while (Date.now() < deadline && !both) {
      const widget = await suggestWidgetVisible(page);
      both = widget && (await ghost.count()) > 0 && (await ghost.first().isVisible());
      if (!widget && Date.now() > retriggerAt) {
        log('suggest widget not open after 15 s; opening it with Ctrl+Space');
        await page.keyboard.press('Control+Space');
        retriggerAt = Infinity;
      }
      if (!both) await page.waitForTimeout(200);
    }
    const ghostText = both ? (await ghost.allTextContents()).join('').replace(/\u00a0/g, ' ') : '';
    const widget = await suggestWidgetVisible(page);
    const rows = await page.locator('.suggest-widget .monaco-list-row').allTextContents();
    log(`suggest widget ${widget} (${JSON.stringify(rows.slice(0, 3))}), ghost text ${JSON.stringify(ghostText)}`);
    await page.keyboard.press('Escape');
    // the trace channel has the LSP traffic (VS Code keeps output channels in its logs)
    let trace = '';
    for (let i = 0; i < 50 && !/inlineCompletion/.test(trace); i++) {
      await page.waitForTimeout(200);
      trace = outputLogs(config.userData, /LSP trace/);
    }
    return { status, both, widget, rows, ghostText, trace: trace.slice(0, 4000), traceHasInline: /textDocument\/inlineCompletion/.test(trace) };
  },

  /** No usable model: the status bar says so with the fix, and typing shows one message. */
  async modelerror(page, config, log) {
    await waitForWorkbench(page, log);
    const status = await waitForServer(page, log);
    await page.waitForFunction(() => [...document.querySelectorAll('.statusbar-item')].some((e) => /model error/.test(e.textContent ?? '')), null, { timeout: 30_000 });
    const errorStatus = await statusText(page);
    await openFile(page, config.file);
    await gotoLineEnd(page, config.line);
    for (const key of ['x', ' ', '=', ' ', '1']) {
      await page.keyboard.type(key);
      await page.waitForTimeout(500);
    }
    const message = await waitForToast(page, 'no completions', 30_000);
    await page.waitForTimeout(2000); // more keystrokes have asked again by now
    const all = (await toasts(page)).filter((t) => t.includes('no completions'));
    log(`status ${errorStatus}; message ${message}`);
    return { status, errorStatus, message, count: all.length };
  },

  /** The extension activates, starts the real server, and the status bar shows it. */
  async smoke(page, config, log) {
    await waitForWorkbench(page, log);
    const status = await waitForServer(page, log);
    return { status };
  },

  /** Cursor at the end of a line; ghost text from the real server appears; Tab accepts it. */
  async ghost(page, config, log) {
    await waitForWorkbench(page, log);
    const status = await waitForServer(page, log);
    // Settings the server rejected are reported by name, and the rest keeps working.
    const problem = config.expectToast ? await waitForToast(page, config.expectToast) : '';
    await openFile(page, config.file);
    await gotoLineEnd(page, config.line);
    // A keystroke and its undo: the document changed, so VS Code asks for a suggestion.
    await page.keyboard.type(' ');
    const typed = Date.now();
    await page.keyboard.press('Backspace');
    const ghost = page.locator('.ghost-text-decoration');
    await ghost.first().waitFor({ state: 'visible', timeout: 30_000 });
    // Keystroke to ghost text on screen (includes VS Code's own debounce); a figure, not a check.
    const ghostMs = Date.now() - typed;
    log(`ghost text after ${ghostMs} ms`);
    const ghostText = (await ghost.allTextContents()).join('').replace(/\u00a0/g, ' ');
    log(`ghost text: ${JSON.stringify(ghostText)}`);
    const before = await editorLines(page);
    await page.keyboard.press('Tab');
    await ghost.first().waitFor({ state: 'detached', timeout: 10_000 });
    await page.keyboard.press('Control+S');
    await page.locator('.tab.dirty').first().waitFor({ state: 'detached', timeout: 10_000 });
    // A new line asks again; Escape dismisses that suggestion (reported to the server as
    // rejected) and leaves the saved file alone.
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await ghost.first().waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.press('Escape');
    await ghost.first().waitFor({ state: 'detached', timeout: 10_000 });
    return { status, ghostText, before, problem, ghostMs };
  },

  /** Ask a remote model; the consent dialog shows the manifest; refuse; nothing is sent. */
  async consent(page, config, log) {
    await waitForWorkbench(page, log);
    const status = await waitForServer(page, log);
    await askRemote(page, config);
    const frame = await webviewFrame(page, '#refuse');
    await frame.locator('.manifest').waitFor({ timeout: 30_000 });
    const dialog = {
      provider: ((await frame.locator('.provider').textContent()) ?? '').trim(),
      model: ((await frame.locator('.model').textContent()) ?? '').trim(),
      tokens: ((await frame.locator('.token-count').textContent()) ?? '').trim(),
      items: await frame.locator('.manifest-item .loc').allTextContents(),
      checkboxes: await frame.locator('input.keep').count(),
      itemTexts: await frame.locator('.manifest-item .item-text pre').allTextContents(),
      payload: (await frame.locator('.manifest-payload pre').textContent()) ?? '',
      text: (await frame.locator('body').textContent()) ?? '',
    };
    log(`consent dialog: ${JSON.stringify(dialog).slice(0, 300)}`);
    if (config.screenshotAlways && config.artifacts) {
      await frame.locator('.manifest-item .item-text summary').first().click();
      await page.screenshot({ path: `${config.artifacts}/consent-dialog.png` });
    }
    await frame.locator('#refuse').click();
    const toast = page.locator('.notifications-toasts', { hasText: 'nothing was sent' });
    await toast.first().waitFor({ timeout: 15_000 });
    return { status, dialog, notification: ((await toast.first().textContent()) ?? '').trim() };
  },

  /** The server executable is missing: one clear message with the fix, and the status says so. */
  async notfound(page, config, log) {
    await waitForWorkbench(page, log);
    const message = await waitForToast(page, 'was not found', 60_000);
    await page.waitForFunction(() => [...document.querySelectorAll('.statusbar-item')].some((e) => e.querySelector('.codicon-error') && /stead/.test(e.textContent ?? '')), null, { timeout: 15_000 });
    return { message, status: await statusText(page) };
  },

  /** The server dies: restarted (and the user told) up to maxRestarts, then left stopped with a message. */
  async crash(page, config, log) {
    await waitForWorkbench(page, log);
    await waitForServer(page, log);
    const killed = [];
    const messages = [];
    const first = await waitForPid(page, config.marker);
    process.kill(first, 'SIGKILL');
    killed.push(first);
    log(`killed server ${first}`);
    messages.push(await waitForToast(page, 'restarting it'));
    const second = await waitForPid(page, config.marker, killed);
    await waitForServer(page, log);
    process.kill(second, 'SIGKILL');
    killed.push(second);
    log(`killed server ${second}`);
    messages.push(await waitForToast(page, 'will not be restarted'));
    await page.waitForTimeout(2000);
    return { messages, killed, alive: serverPids(config.marker), status: await statusText(page) };
  },

  /** Approve a remote request: it is sent once, and the answer shows in the chat view with its manifest. */
  async approve(page, config, log) {
    await waitForWorkbench(page, log);
    await waitForServer(page, log);
    await askRemote(page, config);
    const dialog = await webviewFrame(page, '#approve');
    await dialog.locator('.manifest').waitFor({ timeout: 30_000 });
    await dialog.locator('#approve').click();
    const chat = await webviewFrame(page, '#question');
    const manifest = chat.locator('.turn .manifest').first();
    await manifest.waitFor({ timeout: 30_000 });
    return {
      answer: ((await chat.locator('.turn .answer').first().textContent()) ?? '').trim(),
      by: ((await chat.locator('.turn .by').first().textContent()) ?? '').trim(),
      items: await chat.locator('.turn .manifest-item .loc').allTextContents(),
    };
  },

  /** The everyday commands: chat with its manifest, search the index, history, the audit log. */
  async commands(page, config, log) {
    await waitForWorkbench(page, log);
    await waitForServer(page, log);
    // The index is ready once the status bar counts its chunks.
    await page.waitForFunction(() => [...document.querySelectorAll('.statusbar-item')].some((e) => /stead.*· [1-9][\d,]* chunks/.test(e.textContent ?? '')), null, { timeout: 60_000 });
    const status = await statusText(page);
    log(`status: ${status}`);

    // Chat: ask in the chat view beside the open file; the answer comes with its manifest.
    await openFile(page, config.file);
    await runCommand(page, 'stead: Open Chat');
    const chat = await webviewFrame(page, '#question');
    await chat.locator('#question').fill(config.question);
    await chat.locator('#question').press('Enter');
    const manifest = chat.locator('.turn .manifest').first();
    await manifest.waitFor({ timeout: 60_000 });
    const answer = (await chat.locator('.turn .answer').first().textContent()) ?? '';
    const manifestText = (await manifest.textContent()) ?? '';
    const items = await chat.locator('.turn .manifest-item .loc').allTextContents();
    log(`answer: ${JSON.stringify(answer.slice(0, 200))}; manifest: ${manifestText.slice(0, 200)}`);

    // Search: the hit opens the file at its line.
    await runCommand(page, 'stead: Search the Workspace Index');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(config.query);
    await page.keyboard.press('Enter');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: config.expectFile }).first();
    await row.waitFor({ timeout: 30_000 });
    const searchRows = (await page.locator('.quick-input-list .monaco-list-row').allTextContents()).map((t) => t.trim());
    // Filter the pick to the expected file (this also puts the focus back in its input, which
    // a busy machine's late repaint can take away), then accept it.
    await input.fill(config.expectFile);
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: config.expectFile }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    await page.locator(`.tab.active[aria-label*="${config.expectFile}"]`).first().waitFor({ timeout: 15_000 });

    // History: the chat turn is there; picking it opens a readable page.
    await runCommand(page, 'stead: Show History');
    const historyRow = page.locator('.quick-input-list .monaco-list-row', { hasText: 'chat' }).first();
    await historyRow.waitFor({ timeout: 15_000 });
    const historyRows = (await page.locator('.quick-input-list .monaco-list-row').allTextContents()).map((t) => t.trim());
    await page.keyboard.press('Enter');
    await page.locator('.tab.active[aria-label*="Untitled"]').first().waitFor({ timeout: 15_000 });
    const historyPage = (await editorLines(page)).join('\n');

    await runCommand(page, 'stead: Verify the Audit Log');
    const audit = await waitForToast(page, 'audit log');
    return { status, answer, manifest: manifestText, items, searchRows, historyRows, historyPage, audit };
  },
};
