/**
 * A mailbox reader on a plain `ws` socket that records exactly what the relay sends (no SDK dedupe):
 * every envelope frame with its arrival time, and which ids it acknowledged. For cluster tests that
 * count duplicates and measure cross-node latency.
 */
import WebSocket from 'ws';
import type { MailboxKeys } from '../../src/client/index.js';
import { READER_PATH, decodeEnvelopeFrame, encodeB64url } from '../../src/wire/envelope-protocol.js';
import { signedAuth } from './raw-reader.js';

export interface LiveReader {
  /** Every envelope frame received, in order: id (b64url) and performance.now() at arrival. */
  readonly received: Array<{ id: string; atMs: number }>;
  /** Ids this reader acknowledged (sent in an ack frame). */
  readonly acked: Set<string>;
  onEnvelope?: (id: string) => void;
  /** The close code once the socket closed (by either side), else undefined. */
  readonly closeCode: number | undefined;
  ack(ids: readonly string[]): void;
  close(): Promise<void>;
}

/** Connects, authenticates and resolves on `ready`; acknowledges each envelope at once when `autoAck`. */
export async function connectLiveReader(relayUrl: string, keys: MailboxKeys, autoAck = true): Promise<LiveReader> {
  const ws = new WebSocket(relayUrl.replace(/^http/, 'ws') + READER_PATH);
  let closeCode: number | undefined;
  ws.on('close', (code) => (closeCode = code));
  const reader: LiveReader = {
    received: [],
    acked: new Set(),
    get closeCode() {
      return closeCode;
    },
    ack(ids) {
      if (ids.length === 0 || ws.readyState !== ws.OPEN) return;
      for (const id of ids) reader.acked.add(id);
      ws.send(JSON.stringify({ type: 'ack', ids }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const frame = decodeEnvelopeFrame(data);
        if (frame === undefined) return;
        const id = encodeB64url(frame.id);
        reader.received.push({ id, atMs: performance.now() });
        reader.onEnvelope?.(id);
        if (autoAck) reader.ack([id]);
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as Record<string, string>;
      if (msg.type === 'challenge') void signedAuth(keys, msg.challenge!).then((auth) => ws.send(JSON.stringify(auth)), reject);
      else if (msg.type === 'ready') resolve();
      else if (msg.type === 'error') reject(Object.assign(new Error(msg.message), { code: msg.code }));
    });
  });
  return reader;
}

/** p-th percentile (0..100) of the values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
