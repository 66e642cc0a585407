/**
 * The escalation consent decision, as plain data.
 *
 * The dialog shows the full manifest of a previewed remote request; the user approves it
 * (possibly after unticking items) or refuses. Refusing sends nothing: no `send` request is
 * made at all, and the preview is simply dropped by the server when it expires. Approving
 * with every item dropped is treated as a refusal.
 */
import type { Manifest } from './manifest';

export type Decision =
  | { kind: 'approve'; keep: string[] }
  | { kind: 'refuse' };

export interface SendPlan {
  /** False: make no request. */
  send: boolean;
  /** Ids of manifest items the user unticked. */
  drop: string[];
  /** Sentence for the user. */
  message: string;
}

export function planSend(manifest: Manifest, decision: Decision): SendPlan {
  if (decision.kind === 'refuse') {
    return { send: false, drop: [], message: 'stead: refused; nothing was sent.' };
  }
  const keep = new Set(decision.keep);
  const known = manifest.items.map((i) => i.id);
  const drop = known.filter((id) => !keep.has(id));
  if (known.length > 0 && drop.length === known.length) {
    return { send: false, drop: [], message: 'stead: every item was dropped; nothing was sent.' };
  }
  const kept = known.length - drop.length;
  return {
    send: true,
    drop,
    message: `stead: sending ${kept} item${kept === 1 ? '' : 's'}${drop.length ? ` (${drop.length} dropped)` : ''} to ${manifest.provider || 'the remote model'}.`,
  };
}
