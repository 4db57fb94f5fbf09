/** Reads every mailbox to the end (autoAck) and returns the envelope ids delivered, for the crash tests. */
import { expect } from 'vitest';
import { MailboxReader, type MailboxKeys } from '../../src/client/index.js';

export async function drain(url: string, boxes: MailboxKeys[]): Promise<Set<string>> {
  const got = new Set<string>();
  for (const keys of boxes) {
    const reader = new MailboxReader({ relayUrl: url, keys, autoAck: true });
    let lastAt = Date.now();
    reader.on('envelope', (e) => {
      got.add(e.id);
      lastAt = Date.now();
    });
    await reader.connect();
    // Quiet for 500 ms after the last envelope means this mailbox is drained.
    await expect.poll(() => Date.now() - lastAt > 500, { timeout: 30_000, interval: 100 }).toBe(true);
    reader.close();
  }
  return got;
}
