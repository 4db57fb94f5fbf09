/**
 * A WebSocket client written by hand on a raw TCP socket (RFC 6455 section 4.1 handshake, section
 * 5.2 framing), for sending frames no conforming client would: unmasked, reserved opcodes, RSV bits,
 * impossible lengths; and clients that stop reading. Reads the server's frames (unmasked) back, and
 * the close code if one comes. Used by test/envelope/*.test.ts and loadtest/hardening/memory.ts.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

export interface RawWs {
  socket: Socket;
  /** Frames parsed from the server so far (after the 101 answer). */
  frames(): ServerFrame[];
  /** Resolves when the TCP connection has ended, with the close code of the server's close frame (undefined without one). */
  ended: Promise<{ closeCode: number | undefined; reason: string }>;
  write(bytes: Uint8Array): void;
}

/** Connects, upgrades `path`, and resolves once the server answered 101. `head` rides with the request. */
export async function rawUpgrade(url: string, path: string, head: Uint8Array = new Uint8Array(0)): Promise<RawWs> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined); // a reset is an outcome the tests look at, not an error
  const request =
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  let buf: Buffer = Buffer.alloc(0);
  let upgraded = false;
  const frames: ServerFrame[] = [];
  const ended = new Promise<{ closeCode: number | undefined; reason: string }>((resolve) =>
    socket.on('close', () => {
      const close = frames.find((f) => f.opcode === 8);
      resolve({ closeCode: close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined, reason: close ? close.payload.subarray(2).toString() : '' });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = buf.subarray(0, buf.indexOf('\r\n')).toString();
        if (!status.startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${status}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve();
      }
      buf = parseFrames(buf, frames);
    });
    socket.once('close', () => reject(new Error('closed before the upgrade answer')));
    socket.write(Buffer.concat([Buffer.from(request), head]));
  });
  return { socket, frames: () => frames, ended, write: (b) => socket.write(b) };
}

/** Parses complete server frames off the front of `buf`; returns the rest. */
function parseFrames(buf: Buffer, out: ServerFrame[]): Buffer {
  for (;;) {
    if (buf.length < 2) return buf;
    let len = buf[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (buf.length < 4) return buf;
      len = buf.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (buf.length < 10) return buf;
      len = Number(buf.readBigUInt64BE(2));
      at = 10;
    }
    if (buf.length < at + len) return buf;
    out.push({ opcode: buf[0]! & 0x0f, payload: Buffer.from(buf.subarray(at, at + len)) });
    buf = buf.subarray(at + len);
  }
}

/** A client frame: masked unless `mask` is false; `first` overrides the first byte (FIN, RSV, opcode). */
export function clientFrame(opcode: number, payload: Uint8Array, opts: { mask?: boolean; first?: number } = {}): Buffer {
  const masked = opts.mask ?? true;
  const len = payload.length;
  const header = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.from([0, 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0, 127]), u64(len)]);
  header[0] = opts.first ?? 0x80 | opcode;
  if (!masked) return Buffer.concat([header, payload]);
  header[1]! |= 0x80;
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([header, key, body]);
}

/** Just a masked frame header claiming `length` payload bytes (the payload never follows). */
export function claimedLengthHeader(opcode: number, length: bigint): Buffer {
  const out = Buffer.alloc(14);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | 127;
  out.writeBigUInt64BE(length, 2);
  randomBytes(4).copy(out, 10);
  return out;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Text frames of a raw socket parsed as JSON (binary ones left out). */
export function jsonFrames(raw: RawWs): Array<Record<string, any>> {
  return raw.frames().filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()) as Record<string, any>);
}

/** Binary data frames of a raw socket. */
export function binaryFrames(raw: RawWs): Buffer[] {
  return raw.frames().filter((f) => f.opcode === 2).map((f) => f.payload);
}
