/**
 * UDP sockets for TURN. Every address we send to is an IP literal decoded from a packet, so the
 * socket's `lookup` answers synchronously instead of going through dns.lookup and a tick per send.
 */
import { createSocket, type Socket } from 'node:dgram';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
const literalLookup4 = (host: string, _opts: unknown, cb: LookupCallback): void => cb(null, host, 4);
const literalLookup6 = (host: string, _opts: unknown, cb: LookupCallback): void => cb(null, host, 6);

export function createUdpSocket(family: 4 | 6): Socket {
  return createSocket({ type: family === 4 ? 'udp4' : 'udp6', lookup: family === 4 ? literalLookup4 : literalLookup6, ipv6Only: false });
}

/** Binds; resolves with the bound port or rejects with the bind error (e.g. EADDRINUSE). */
export function bindUdp(socket: Socket, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket.address().port);
    });
  });
}

/** Larger kernel buffers for bursts; ignored where the OS caps them. */
export function growBuffers(socket: Socket, bytes: number): void {
  try {
    socket.setRecvBufferSize(bytes);
    socket.setSendBufferSize(bytes);
  } catch {
    // The kernel limit (net.core.rmem_max) applies; the default buffers still work.
  }
}

export function closeUdp(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
