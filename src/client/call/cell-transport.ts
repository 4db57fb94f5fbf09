/**
 * How the client's cells reach the relay: UDP (preferred) or a WebSocket carrying one cell per
 * binary message (for networks that block UDP). Both deliver whole cells; the hop layer above
 * does not know which is in use.
 */
import { createSocket, type Socket } from 'node:dgram';
import { WebSocket } from 'ws';

export interface CellTransport {
  readonly kind: 'udp' | 'ws';
  send(cell: Buffer): void;
  close(): Promise<void>;
}

export async function openUdp(host: string, port: number, onCell: (cell: Buffer) => void): Promise<CellTransport & { rebind(): Promise<void> }> {
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const bindAddr = host.startsWith('127.') ? '127.0.0.1' : host === '::1' ? '::1' : undefined;
  const open = async (): Promise<Socket> => {
    const s = createSocket(family);
    s.on('message', (msg, rinfo) => {
      if (rinfo.port === port) onCell(msg);
    });
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.bind(0, bindAddr, () => resolve()));
    return s;
  };
  let sock = await open();
  return {
    kind: 'udp',
    send: (cell) => sock.send(cell, port, host),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
    /** A new local port, as after a NAT rebinding (tests and roaming). */
    async rebind(): Promise<void> {
      const old = sock;
      sock = await open();
      old.close();
    },
  };
}

/** Gives up on a WebSocket handshake after this long (a blackholed TCP connect would wait minutes). */
const WS_HANDSHAKE_TIMEOUT_MS = 5000;

export async function openWs(url: string, onCell: (cell: Buffer) => void): Promise<CellTransport> {
  const ws = new WebSocket(url, { handshakeTimeout: WS_HANDSHAKE_TIMEOUT_MS });
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) onCell(data);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  return {
    kind: 'ws',
    send: (cell) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(cell, { binary: true });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
        setTimeout(() => ws.terminate(), 500).unref();
      }),
  };
}
