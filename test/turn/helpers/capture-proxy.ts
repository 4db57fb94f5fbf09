// A UDP capture proxy in front of the TURN server: every client gets its own upstream socket, and
// every datagram in either direction is recorded. It stands for a packet capture on the relay host.
import { createSocket, type Socket } from 'node:dgram';

export interface CaptureProxy {
  port: number;
  packets: Buffer[];
  close(): Promise<void>;
}

export async function startCaptureProxy(upstreamPort: number): Promise<CaptureProxy> {
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  const packets: Buffer[] = [];
  front.on('message', (msg, rinfo) => {
    packets.push(Buffer.from(msg));
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = upstreams.get(key);
    if (!up) {
      const s = createSocket('udp4');
      s.on('message', (back) => {
        packets.push(Buffer.from(back));
        front.send(back, rinfo.port, rinfo.address);
      });
      s.bind(0, '127.0.0.1');
      upstreams.set(key, (up = s));
    }
    up.send(msg, upstreamPort, '127.0.0.1');
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  return {
    port: front.address().port,
    packets,
    close: async () => {
      await Promise.all([front, ...upstreams.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
