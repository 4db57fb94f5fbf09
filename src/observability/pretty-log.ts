/**
 * The human log format (`logFormat: pretty`, the default on a terminal): one line per event,
 *
 *   2026-11-30T07:54:02.123Z INFO  relay listening httpPort=7800 tls=false plane=envelope
 *
 * time (UTC, ISO 8601), level name, message, then the event's fields as key=value. It is rendered
 * from pino's JSON line, so it carries the same fields, redacted the same way; lifecycle events
 * only, so parsing the line again costs nothing that matters.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields the line shows in its own columns, or that every line has. */
const SKIP = new Set(['time', 'level', 'msg', 'svc', 'pid', 'hostname']);

export function prettyLine(json: string, colour = false): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json; // not pino's: pass through untouched
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  let name = (LEVELS[level] ?? String(level)).padEnd(5);
  if (colour) name = `\x1b[${COLOURS[level] ?? '0'}m${name}\x1b[0m`;
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString() : '-';
  const parts = [time, name, typeof rec.msg === 'string' ? rec.msg : ''];
  for (const [k, v] of Object.entries(rec)) {
    if (!SKIP.has(k)) parts.push(`${k}=${formatValue(v)}`);
  }
  return parts.join(' ') + '\n';
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}
