/**
 * The notifier port, "mailbox X has new mail", and its process-local implementation: the live
 * readers attached to this relay, by mailbox. The cross-node notifier (cluster-notifier.ts) wraps
 * this one and adds a mailbox channel between relay nodes.
 */

/** A live reader connection; the notifier calls it when its mailbox may have something new. */
export interface MailboxReader {
  onEnvelopesAvailable(): void;
  /** A newer reader of the same mailbox took this one's place; close it. */
  onReplaced(): void;
}

export interface MailboxNotifier {
  addReader(mailbox: Uint8Array, reader: MailboxReader): void;
  removeReader(mailbox: Uint8Array, reader: MailboxReader): void;
  /**
   * Tells the mailbox's readers something is new; false when it has none (the caller then wakes).
   * A cross-node notifier may only know later (other nodes answer): it then returns a promise.
   */
  notify(mailbox: Uint8Array): boolean | Promise<boolean>;
}

export class LocalMailboxNotifier implements MailboxNotifier {
  private readonly readers = new Map<string, Set<MailboxReader>>();

  /** `onCountChanged` hears every change of the reader count (+1, -1), for a gauge. */
  constructor(
    private readonly maxReadersPerMailbox: number,
    private readonly onCountChanged: (delta: number) => void = () => {},
  ) {}

  /**
   * Adds an authenticated reader. Past `maxReadersPerMailbox` the oldest reader of the mailbox is
   * replaced rather than the new one refused: only the key holder can authenticate, so the readers
   * replaced are the key holder's own, and the newest connection is the one most likely alive (a
   * device that reconnects after a network change must not wait for its half-open old socket to
   * time out). Several devices sharing a key each keep a reader up to the cap.
   */
  addReader(mailbox: Uint8Array, reader: MailboxReader): void {
    const key = mailboxKey(mailbox);
    let set = this.readers.get(key);
    if (set === undefined) this.readers.set(key, (set = new Set()));
    while (set.size >= this.maxReadersPerMailbox) {
      const oldest = set.values().next().value!; // a Set iterates in insertion order
      set.delete(oldest);
      this.onCountChanged(-1);
      oldest.onReplaced();
    }
    set.add(reader);
    this.onCountChanged(1);
  }

  removeReader(mailbox: Uint8Array, reader: MailboxReader): void {
    const key = mailboxKey(mailbox);
    const set = this.readers.get(key);
    if (set?.delete(reader) !== true) return;
    if (set.size === 0) this.readers.delete(key);
    this.onCountChanged(-1);
  }

  /** Whether this relay holds a live reader of the mailbox. */
  has(mailbox: Uint8Array): boolean {
    return this.readers.has(mailboxKey(mailbox));
  }

  notify(mailbox: Uint8Array): boolean {
    const set = this.readers.get(mailboxKey(mailbox));
    if (set === undefined || set.size === 0) return false;
    for (const reader of set) reader.onEnvelopesAvailable();
    return true;
  }
}

export function mailboxKey(mailbox: Uint8Array): string {
  return Buffer.from(mailbox.buffer, mailbox.byteOffset, mailbox.byteLength).toString('latin1');
}
