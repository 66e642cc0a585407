/** The webview side's handle on the extension (the global VS Code injects). */
export interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
export const vscode: VsCodeApi = acquireVsCodeApi();

/** Clicking a manifest location opens the file at that line. */
export function wireLocations(root: HTMLElement): void {
  root.addEventListener('click', (e) => {
    const a = (e.target as HTMLElement).closest('a.loc');
    if (!(a instanceof HTMLElement)) return;
    e.preventDefault();
    vscode.postMessage({ type: 'open', path: a.dataset['path'] ?? '', line: Number(a.dataset['line'] ?? 1) });
  });
}
