/**
 * The ports the mailbox core talks to, named for what it needs, not for a backend. The store port
 * is `EnvelopeStore` (store/envelope-store.ts); the notifier is in mailbox-notifier.ts. The
 * implementations live in store/ (LMDB today), push/ (the wake dispatcher) and server/ (metrics).
 */
import type { ErrorCode } from '../../errors.js';
import type { PushTarget } from '../store/envelope-store.js';

/** "Wake push target T": content-free wakes for a mailbox nobody is reading. */
export interface MailboxWaker {
  hasProvider(name: string): boolean;
  /** Called after an envelope is stored for a mailbox with no live reader; `lookup` finds its push target. */
  onEnvelopeWithoutReader(mailbox: Uint8Array, lookup: () => Promise<PushTarget | undefined> | undefined): void;
}

/**
 * "May this node wake mailbox M now?", across the nodes of a cluster: true for one caller per
 * window. Absent on a single node, where the local window (WakeScheduler) is the whole story.
 */
export interface WakeGate {
  claim(mailbox: Uint8Array, windowMs: number): Promise<boolean>;
}

/** What the mailbox core counts. Labels are codes only: never a mailbox or an address. */
export interface MailboxMetrics {
  stored(writeSeconds: number): void;
  delivered(count: number): void;
  expired(count: number): void;
  rejected(code: ErrorCode): void;
  readersChanged(delta: number): void;
}

/** Cross-node hints (cluster mode, `xrelay_mailbox_hints_total{result}`): sent, failed to send, received from another node. */
export type HintResult = 'published' | 'failed' | 'received';

/** Results a push wake is counted under (`xrelay_wakes_total{result}`). */
export type WakeResult = 'sent' | 'failed' | 'retried' | 'coalesced' | 'dropped';

/** What the wake dispatcher counts. */
export interface WakeMetrics {
  wake(result: WakeResult): void;
}
