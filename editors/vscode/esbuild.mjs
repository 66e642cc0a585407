// Bundles the extension (Node, CommonJS, `vscode` external), the webview scripts (browser)
// and, with --tests, the unit tests (Node) into out/.
import { build, context } from 'esbuild';
import { readdirSync } from 'node:fs';

const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  target: 'es2022',
};

const targets = [
  {
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'out/extension.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: { chat: 'src/webview/chat.ts', consent: 'src/webview/consent.ts' },
    outdir: 'out/webview',
    platform: 'browser',
    format: 'iife',
  },
];

if (args.has('--tests')) {
  targets.push({
    ...common,
    entryPoints: readdirSync('test').filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`),
    outdir: 'out/test',
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  });
}

if (args.has('--watch')) {
  for (const t of targets) await (await context(t)).watch();
} else {
  await Promise.all(targets.map((t) => build(t)));
}
