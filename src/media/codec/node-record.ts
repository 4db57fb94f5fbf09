/**
 * A cluster node's registration record (cluster mode, README "Running a cluster"), stored in Redis as
 * JSON under the node's key and read by every node. It names the node and its load, never a client
 * address, a room or a session.
 */

export interface NodeRecord {
  readonly id: string;
  /** Base URL clients reach this node at (cluster.publicUrl). */
  readonly url: string;
  /** Where its cells go (media.advertisedHost, media.udpPort). */
  readonly udp: { readonly host: string; readonly port: number };
  /** Live media sessions on the node. */
  readonly sessions: number;
  /** Rooms with members on the node. */
  readonly rooms: number;
  /** Takes no new rooms (xrelay drain). */
  readonly draining: boolean;
}

/** A record from its JSON text; undefined when it is not one (a foreign or damaged value is skipped, not trusted). */
export function parseNodeRecord(text: string): NodeRecord | undefined {
  let v: Partial<Record<keyof NodeRecord, unknown>>;
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  if (typeof v.id !== 'string' || typeof v.url !== 'string' || typeof v.draining !== 'boolean') return undefined;
  if (!isCount(v.sessions) || !isCount(v.rooms)) return undefined;
  const udp = v.udp as Partial<NodeRecord['udp']> | undefined;
  if (typeof udp?.host !== 'string' || !isCount(udp.port)) return undefined;
  return { id: v.id, url: v.url, udp: { host: udp.host, port: udp.port }, sessions: v.sessions, rooms: v.rooms, draining: v.draining };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}
