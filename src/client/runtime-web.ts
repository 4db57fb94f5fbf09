/**
 * The browser runtime (and any runtime with the web-standard WebSocket: Deno, Bun, workers):
 * the platform's WebSocket, binary messages as ArrayBuffer, no UDP. The WebSocket shape is
 * declared here (the SDK builds without the DOM library, and its public types need none).
 */
import { XrelayClientError } from './client-error.js';
import type { ClientRuntime, SocketHandlers, SocketPort } from './runtime.js';

interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: (() => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: (() => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  send(data: Uint8Array | string): void;
  close(code?: number): void;
}
type WebSocketCtor = new (url: string) => WebSocketLike;
const OPEN = 1;

function openSocket(url: string, h: SocketHandlers): SocketPort {
  const Ctor = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (Ctor === undefined) throw new XrelayClientError('unsupported', 'this platform has no WebSocket');
  const ws = new Ctor(url);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => h.open();
  ws.onmessage = (ev) => h.message(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data as ArrayBuffer));
  // A browser does not say why a WebSocket failed (refused, 403, TLS): 'error' then close 1006.
  ws.onerror = () => h.error('WebSocket error');
  ws.onclose = (ev) => h.close(ev.code, ev.reason);
  return {
    get isOpen() {
      return ws.readyState === OPEN;
    },
    send: (data) => ws.send(data),
    close: (code) => ws.close(code),
    terminate: () => ws.close(),
  };
}

export const webRuntime: ClientRuntime = { name: 'browser', openSocket };
