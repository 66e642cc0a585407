/** Messages between the extension and its webviews (both directions), as plain JSON. */

/** Chat view → extension. */
export type ChatRequest =
  | { type: 'ask'; question: string }
  | { type: 'open'; path: string; line: number }
  | { type: 'new' }
  | { type: 'ready' };

/** Extension → chat view. */
export type ChatEvent =
  | { type: 'question'; id: number; question: string }
  | { type: 'chunk'; id: number; text: string }
  | { type: 'answer'; id: number; answer: string; manifest: unknown; model: string; route: string }
  | { type: 'error'; id: number; message: string };

/** Consent dialog → extension. */
export type ConsentReply =
  | { type: 'approve'; keep: string[] }
  | { type: 'refuse' }
  | { type: 'open'; path: string; line: number };

/** Extension → consent dialog. */
export type ConsentEvent = { type: 'manifest'; manifest: unknown; question: string };
