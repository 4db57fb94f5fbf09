/**
 * Reads every mailbox to the end (autoAck) and returns the envelope ids delivered, for the crash tests.
 * Done when every `expected` id arrived and nothing more came for 500 ms (stragglers the client never
 * saw acknowledged), or at 30 s; it never ends early on a pause alone, which on a loaded machine
 * read as loss. What is missing at 30 s is returned as missing, for the caller's assertion to name.
 */
import { MailboxReader, type MailboxKeys } from '../../src/client/index.js';

export async function drain(url: string, boxes: readonly MailboxKeys[], expected: Iterable<string>): Promise<Set<string>> {
  const got = new Set<string>();
  const want = new Set(expected);
  let lastAt = Date.now();
  const readers = boxes.map((keys) => new MailboxReader({ relayUrl: url, keys, autoAck: true }));
  for (const reader of readers) {
    reader.on('envelope', (e) => {
      got.add(e.id);
      lastAt = Date.now();
    });
  }
  try {
    await Promise.all(readers.map((r) => r.connect()));
    const deadline = Date.now() + 30_000;
    const done = (): boolean => [...want].every((id) => got.has(id)) && Date.now() - lastAt > 500;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    for (const r of readers) r.close();
  }
  return got;
}
