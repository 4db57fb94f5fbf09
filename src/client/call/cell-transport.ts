/**
 * How the client's cells reach the relay: UDP where the platform has it (preferred), or a
 * WebSocket carrying one cell per binary message (browsers; networks that block UDP). Both deliver
 * whole cells; the hop layer above does not know which is in use. Sockets come from the
 * installed runtime (runtime.ts).
 */
import { XrelayClientError } from '../client-error.js';
import { currentRuntime } from '../runtime.js';

export interface CellTransport {
  readonly kind: 'udp' | 'ws';
  send(cell: Uint8Array): void;
  close(): Promise<void>;
  rebind?(): Promise<void>;
}

/** Whether this platform can send cells over UDP at all. */
export function hasUdp(): boolean {
  return currentRuntime().openUdp !== undefined;
}

export async function openUdp(host: string, port: number, onCell: (cell: Uint8Array) => void): Promise<CellTransport> {
  const open = currentRuntime().openUdp;
  if (open === undefined) throw new XrelayClientError('unsupported', 'this platform has no UDP: use transport "ws" or "auto"');
  const udp = await open(host, port, onCell);
  return { kind: 'udp', send: (cell) => udp.send(cell), close: () => udp.close(), rebind: () => udp.rebind() };
}

/** Gives up on a WebSocket handshake after this long (a blackholed TCP connect would wait minutes). */
const WS_HANDSHAKE_TIMEOUT_MS = 5000;
/** After close(), how long to wait for the closing handshake before dropping the connection. */
const WS_CLOSE_WAIT_MS = 500;

export function openWs(url: string, onCell: (cell: Uint8Array) => void): Promise<CellTransport> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let closed = false;
    const closeWaiters: Array<() => void> = [];
    const fail = (err: XrelayClientError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const sock = currentRuntime().openSocket(url, {
      open: () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(transport);
      },
      message: (data) => {
        if (typeof data !== 'string') onCell(data);
      },
      error: (message) => fail(new XrelayClientError('network', `cell WebSocket failed: ${message}`)),
      close: (code) => {
        closed = true;
        fail(new XrelayClientError('network', `cell WebSocket closed during the handshake (${code})`));
        for (const w of closeWaiters.splice(0)) w();
      },
    });
    const timer = setTimeout(() => {
      fail(new XrelayClientError('timeout', `cell WebSocket handshake took over ${WS_HANDSHAKE_TIMEOUT_MS} ms`));
      sock.terminate();
    }, WS_HANDSHAKE_TIMEOUT_MS);
    const transport: CellTransport = {
      kind: 'ws',
      send: (cell) => {
        if (sock.isOpen) sock.send(cell);
      },
      close: () =>
        new Promise<void>((done) => {
          if (closed) return done();
          closeWaiters.push(done);
          sock.close(1000);
          setTimeout(() => {
            if (closed) return;
            sock.terminate();
            closed = true;
            for (const w of closeWaiters.splice(0)) w();
          }, WS_CLOSE_WAIT_MS);
        }),
    };
  });
}
