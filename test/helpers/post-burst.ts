/** A concurrent burst of 1 KiB envelope posts over HTTP, for the crash tests (LMDB and cluster). */
import type { MailboxKeys } from '../../src/client/index.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';

export interface Burst {
  /** Envelope id -> its mailbox (b64url), for every post answered 202. */
  readonly acked: Map<string, string>;
  /** Posts whose connection died before an answer: the client cannot know, and does not count them as acknowledged. */
  unknown: number;
  /** Other answers, by HTTP status. */
  readonly refused: Map<number, number>;
}

/** Posts `total` envelopes over the boxes with `concurrency` in flight; calls `onAck` after each 202. */
export async function postBurst(url: string, boxes: readonly MailboxKeys[], total: number, concurrency: number, onAck: (n: number) => void): Promise<Burst> {
  const result: Burst = { acked: new Map(), unknown: 0, refused: new Map() };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const box = boxes[i % boxes.length]!;
      const body = new Uint8Array(1024);
      new DataView(body.buffer).setUint32(0, i);
      try {
        const res = await fetch(`${url}/v1/mailboxes/${encodeB64url(box.mailboxId)}/envelopes`, { method: 'POST', body });
        const answer = (await res.json()) as { id?: string };
        if (res.status === 202 && answer.id) {
          result.acked.set(answer.id, encodeB64url(box.mailboxId));
          onAck(result.acked.size);
        } else result.refused.set(res.status, (result.refused.get(res.status) ?? 0) + 1);
      } catch {
        result.unknown++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

/** Every refusal, whatever its status. */
export const refusedTotal = (b: Burst): number => [...b.refused.values()].reduce((x, y) => x + y, 0);
