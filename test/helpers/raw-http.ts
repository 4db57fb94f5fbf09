/** A raw TCP HTTP/1.1 client for malformed requests: what came back, and how the connection ended. */
import net from 'node:net';
import tls from 'node:tls';

export interface RawAnswer {
  /** Status of the first response, or 0 if none arrived. */
  status: number;
  headers: Record<string, string>;
  /** The first response's body parsed as JSON, if it was. */
  json: any;
  /** Everything received, as text. */
  text: string;
  /** 'fin': the relay closed in order; 'reset': ECONNRESET/EPIPE; 'open': still open when we gave up. */
  ended: 'fin' | 'reset' | 'open';
  /** Milliseconds from connect to the first byte of the answer (or to the end, if none). */
  answerMs: number;
}

export interface RawOptions {
  /** Keep writing this chunk after the request until the connection ends or `streamMaxBytes` went out. */
  stream?: Buffer;
  streamMaxBytes?: number;
  /** Written once the first bytes of the answer arrive (a client that goes on regardless). */
  afterAnswer?: string;
  /** Speak TLS, trusting this CA certificate (the relay's self-signed one). */
  tlsCa?: Buffer;
  /** Give up waiting after this long (the connection is then destroyed by us). */
  waitMs?: number;
}

export function parseResponse(text: string): Pick<RawAnswer, 'status' | 'headers' | 'json'> {
  const head = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || head === -1) return { status: 0, headers: {}, json: undefined };
  const lines = text.slice(0, head).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  let json: unknown;
  try {
    json = JSON.parse(text.slice(head + 4, head + 4 + length));
  } catch {
    json = undefined;
  }
  return { status: Number(lines[0]!.split(' ')[1]), headers, json };
}

/** Connects, writes `request` (nothing if empty), reads until the relay ends the connection or `waitMs` passes. */
export function rawRequest(port: number, request: string | Buffer, opts: RawOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = opts.tlsCa === undefined ? net.connect(port, '127.0.0.1') : tls.connect({ port, host: '127.0.0.1', ca: opts.tlsCa });
    const started = performance.now();
    let text = '';
    let firstByteMs = -1;
    let ended: RawAnswer['ended'] = 'open';
    let sent = 0;
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponse(text), text, ended, answerMs: firstByteMs >= 0 ? firstByteMs : performance.now() - started });
    };
    const timer = setTimeout(finish, opts.waitMs ?? 10_000);
    socket.on('data', (d) => {
      if (firstByteMs < 0) {
        firstByteMs = performance.now() - started;
        if (opts.afterAnswer !== undefined) socket.write(opts.afterAnswer);
      }
      text += d.toString('latin1');
    });
    socket.on('end', () => {
      ended = 'fin';
      finish();
    });
    socket.on('error', () => {
      ended = 'reset'; // ECONNRESET or EPIPE: the relay destroyed the connection with input unread
      finish();
    });
    socket.on(opts.tlsCa === undefined ? 'connect' : 'secureConnect', () => {
      if (request.length > 0) socket.write(request);
      if (opts.stream === undefined) return;
      const chunk = opts.stream;
      const pump = (): void => {
        while (!socket.destroyed && sent < (opts.streamMaxBytes ?? 4 << 20)) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
  });
}

/** `POST path` with the given extra header lines (each ending in CRLF) and raw body. */
export function post(path: string, headerLines: string, body = ''): string {
  return `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${headerLines}\r\n${body}`;
}

/** A chunked body of `total` bytes in chunks of `size`, with the terminating chunk. */
export function chunked(total: number, size = 8192): string {
  let out = '';
  for (let left = total; left > 0; left -= size) {
    const n = Math.min(size, left);
    out += `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`;
  }
  return out + '0\r\n\r\n';
}
