/** The Node runtime: WebSockets through `ws` (TLS options honoured) and UDP through node:dgram. */
import { createSocket, type Socket } from 'node:dgram';
import { WebSocket } from 'ws';
import type { ClientRuntime, NodeSocketOptions, SocketHandlers, SocketPort, UdpPort } from './runtime.js';

function openSocket(url: string, h: SocketHandlers, opts: NodeSocketOptions = {}): SocketPort {
  const ws = new WebSocket(url, { ...opts, ca: opts.ca as string[] | undefined });
  ws.binaryType = 'nodebuffer';
  ws.on('open', () => h.open());
  ws.on('message', (data: Buffer, isBinary: boolean) => h.message(isBinary ? data : data.toString('utf8')));
  ws.on('error', (err) => h.error(err.message));
  ws.on('close', (code, reason) => h.close(code, reason.toString()));
  return {
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    send: (data) => ws.send(data, { binary: typeof data !== 'string' }),
    close: (code) => ws.close(code),
    terminate: () => ws.terminate(),
  };
}

async function openUdp(host: string, port: number, onCell: (cell: Uint8Array) => void): Promise<UdpPort> {
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const bindAddr = host.startsWith('127.') ? '127.0.0.1' : host === '::1' ? '::1' : undefined;
  const open = async (): Promise<Socket> => {
    const s = createSocket(family);
    s.on('message', (msg, rinfo) => {
      if (rinfo.port === port) onCell(msg);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, bindAddr, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => undefined); // ICMP unreachable and the like: the downlink watch decides
    return s;
  };
  let sock = await open();
  return {
    send: (cell) => sock.send(cell, port, host),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
    async rebind(): Promise<void> {
      const old = sock;
      sock = await open();
      old.close();
    },
  };
}

export const nodeRuntime: ClientRuntime = { name: 'node', openSocket, openUdp };
