/**
 * Kernel receive-queue drops of one UDP socket of this process, for the TypeScript data plane
 * (node:dgram exposes no SO_RXQ_OVFL). Linux lists every UDP socket of the network namespace in
 * /proc/self/net/udp and /proc/self/net/udp6, one line each, whose last column (`drops`) counts
 * datagrams the kernel discarded because the socket's receive buffer was full, and whose 10th
 * column is the socket's inode. The socket is found once, at start, by its local port among this
 * process's own sockets (/proc/self/fd links `socket:[inode]`), then read by inode at each
 * /metrics collection: one read of those files (about 128 bytes per UDP socket on the host), never
 * on the hot path. Elsewhere than Linux both functions answer undefined and nothing is exported.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const TABLES = ['/proc/self/net/udp', '/proc/self/net/udp6'];

function readTable(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/** Inodes of this process's sockets. */
function ownSocketInodes(): Set<string> {
  const out = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed between readdir and readlink
    }
  }
  return out;
}

/** Columns of one /proc/net/udp line: [sl, local, remote, st, queues, tr, retrnsmt, uid, timeout, inode, ref, pointer, drops]. */
function columns(line: string): string[] {
  return line.trim().split(/\s+/);
}

/**
 * The inode of this process's UDP socket bound to local `port` (IPv4 or IPv6), or undefined when
 * not found (not Linux, or /proc unavailable).
 */
export function findUdpSocketInode(port: number): string | undefined {
  const own = ownSocketInodes();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of TABLES) {
    for (const line of readTable(table).split('\n').slice(1)) {
      const c = columns(line);
      if (c.length < 13 || !c[1]!.endsWith(':' + hexPort)) continue;
      if (own.has(c[9]!)) return c[9];
    }
  }
  return undefined;
}

/** The `drops` column of the UDP socket with this inode, or undefined when it is not listed (closed). */
export function readUdpKernelDrops(inode: string): number | undefined {
  for (const table of TABLES) {
    const text = readTable(table);
    // Find the inode as a whole word before splitting anything: one line is parsed, not all.
    for (let at = text.indexOf(` ${inode} `); at >= 0; at = text.indexOf(` ${inode} `, at + 1)) {
      const start = text.lastIndexOf('\n', at) + 1;
      const end = text.indexOf('\n', at);
      const c = columns(text.slice(start, end < 0 ? undefined : end));
      if (c.length >= 13 && c[9] === inode) return Number(c[c.length - 1]);
    }
  }
  return undefined;
}
