/**
 * The escalation consent decision, as plain data.
 *
 * The dialog shows the full manifest of a previewed remote request; the user approves it
 * (possibly after unticking items) or refuses. Either way the server is told (a refusal is
 * `stead/escalate/send` with `approve: false`: the server records it and forgets the
 * manifest, and nothing leaves the machine). Approving with every item unticked is a
 * refusal too: a question with its context removed is not what the user approved.
 */
import type { Manifest } from './manifest';

export type Decision =
  | { kind: 'approve'; keep: string[] }
  | { kind: 'refuse' };

export interface SendPlan {
  /** False: tell the server the user refused; nothing is sent anywhere. */
  approve: boolean;
  /** Indexes of the manifest items the user unticked (the server's `dropped`). */
  dropped: number[];
  /** Sentence for the user. */
  message: string;
}

export function planSend(manifest: Manifest, decision: Decision): SendPlan {
  if (decision.kind === 'refuse') {
    return { approve: false, dropped: [], message: 'stead: refused; nothing was sent.' };
  }
  const keep = new Set(decision.keep);
  const known = manifest.items.map((i) => i.id);
  const drop = known.filter((id) => !keep.has(id));
  if (known.length > 0 && drop.length === known.length) {
    return { approve: false, dropped: [], message: 'stead: every item was dropped; nothing was sent.' };
  }
  const kept = known.length - drop.length;
  const to = manifest.provider || 'the remote model';
  return {
    approve: true,
    dropped: drop.map((id) => Number(id)).filter((n) => Number.isInteger(n) && n >= 0),
    message: `stead: sending ${kept} item${kept === 1 ? '' : 's'}${drop.length ? ` (${drop.length} dropped)` : ''} to ${to}.`,
  };
}
