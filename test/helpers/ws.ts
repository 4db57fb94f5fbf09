/** A raw WebSocket client that records every message and the close, for protocol-level tests. */
import { WebSocket } from 'ws';

export interface RawSocket {
  ws: WebSocket;
  messages: Array<Record<string, any> | Buffer>;
  closed: Promise<{ code: number; reason: string }>;
  /** Next JSON message with this type (waits if needed). */
  next(type: string): Promise<Record<string, any>>;
  sendJson(msg: unknown): void;
}

export async function openRaw(url: string, path: string): Promise<RawSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + path);
  const messages: RawSocket['messages'] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) messages.push(data as Buffer);
    else messages.push(JSON.parse(String(data)) as Record<string, any>);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (type: string): Promise<Record<string, any>> => {
    for (;;) {
      const found = messages.find((m) => !Buffer.isBuffer(m) && m.type === type) as Record<string, any> | undefined;
      if (found) {
        messages.splice(messages.indexOf(found), 1);
        return found;
      }
      if (ws.readyState === ws.CLOSED) throw new Error(`closed before a "${type}" message`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), closed]);
    }
  };
  return { ws, messages, closed, next, sendJson: (m) => ws.send(JSON.stringify(m)) };
}
