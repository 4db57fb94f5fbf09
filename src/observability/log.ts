/**
 * Logging with a privacy posture. By default (`private`) no IP address, mailbox, envelope, room or
 * session id appears in clear: callers pass identifiers through `Redactor.id()`, which yields a
 * truncated keyed hash (HMAC-SHA256 under a key drawn at start and never stored), so lines of one
 * process can be correlated with each other but not with anything outside it. The `debug` posture
 * logs identifiers in clear and must be opted into. Payloads are never logged in any posture.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';

export type LogPosture = 'private' | 'debug';
export type { Logger };

export class Redactor {
  private readonly key = randomBytes(32);
  constructor(readonly posture: LogPosture) {}

  /** An identifier (bytes or string) as it may appear in a log line. */
  id(value: string | Uint8Array): string {
    if (this.posture === 'debug') {
      return typeof value === 'string' ? value : Buffer.from(value).toString('base64url');
    }
    return 'h:' + createHmac('sha256', this.key).update(value).digest('hex').slice(0, 10);
  }

  /** A network address: in the private posture, only its family survives. */
  address(ip: string | undefined): string {
    if (this.posture === 'debug') return ip ?? 'unknown';
    if (ip === undefined) return 'unknown';
    return ip.includes(':') && !ip.startsWith('::ffff:') ? 'ipv6' : 'ipv4';
  }
}

export interface LogOptions {
  level: string;
  posture: LogPosture;
  /** Where lines go; default stdout. Tests pass a stream to inspect what was logged. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { svc: 'xrelay' },
      // pino's default serializers would log req.remoteAddress; we never pass raw requests.
      serializers: {},
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
