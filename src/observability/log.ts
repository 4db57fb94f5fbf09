/**
 * Logging with a privacy posture. By default (`private`) no IP address, mailbox, envelope, room or
 * session id appears in clear: callers pass identifiers through `Redactor.id()`, which yields a
 * truncated keyed hash (HMAC-SHA256 under a key drawn at start and never stored), so lines of one
 * process can be correlated with each other but not with anything outside it. The `debug` posture
 * logs identifiers in clear and must be opted into. Payloads are never logged in any posture.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { prettyLine } from './pretty-log.js';

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

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LogOptions {
  level: string;
  posture: LogPosture;
  /** `auto` (default): pretty when the destination is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Where lines go; default stdout. Tests pass a stream to inspect what was logged. */
  destination?: NodeJS.WritableStream;
}

/** Child loggers of each root logger, so a level change (SIGHUP) reaches the planes' children too. */
const childrenOf = new WeakMap<Logger, Set<WeakRef<Logger>>>();
/** Drops a collected child's entry, so short-lived children cannot grow the set. */
const forget = new FinalizationRegistry<{ set: Set<WeakRef<Logger>>; ref: WeakRef<Logger> }>(({ set, ref }) => set.delete(ref));

export function createLogger(opts: LogOptions): Logger {
  const children = new Set<WeakRef<Logger>>();
  const out = opts.destination ?? pino.destination({ fd: 1, sync: false });
  const isTty = opts.destination === undefined ? process.stdout.isTTY === true : (opts.destination as { isTTY?: boolean }).isTTY === true;
  const pretty = opts.format === 'pretty' || ((opts.format ?? 'auto') === 'auto' && isTty);
  // Pretty lines are rendered from the very JSON line pino made, so they hold exactly the fields
  // (already redacted by the posture) the JSON line holds: the format cannot leak more.
  const colour = pretty && isTty && process.env.NO_COLOR === undefined;
  const destination = pretty ? { write: (line: string) => out.write(prettyLine(line, colour)) } : out;
  const logger = pino(
    {
      level: opts.level,
      base: { svc: 'xrelay' },
      // pino's default serializers would log req.remoteAddress; we never pass raw requests.
      serializers: {},
      onChild: (child) => {
        const ref = new WeakRef(child);
        children.add(ref);
        forget.register(child, { set: children, ref });
      },
    },
    destination,
  );
  childrenOf.set(logger, children);
  return logger;
}

/** Sets the level of a logger made by createLogger and of every child it has given out. */
export function setLogLevel(root: Logger, level: string): void {
  root.level = level;
  const children = childrenOf.get(root);
  if (children === undefined) return;
  for (const ref of children) {
    const child = ref.deref();
    if (child === undefined) children.delete(ref);
    else child.level = level;
  }
}
