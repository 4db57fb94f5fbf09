/**
 * The checks that span fields or look outside the config: addresses, ranges, lists, cadence
 * profiles, ports two listeners would share, and the TLS files. Each throws a ConfigError naming
 * the field, so a bad value stops the relay (exit 2) before anything binds, instead of failing
 * later inside a plane.
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { parseSubnet } from '../limits/client-address.js';
import { minBodyForRoster, parseProfiles, type Profile } from '../media/codec/profiles.js';
import { ConfigError } from './config-error.js';
import type { RelayConfig } from './schema.js';

/**
 * Everything: the values (`checkValues`) and the files they name (`checkFiles`). startRelay runs it
 * first, for a config from loadConfig or one assembled in code.
 */
export function validateConfig(c: RelayConfig): void {
  checkValues(c);
  checkFiles(c);
}

/** The checks on values alone (loadConfig runs them: print-config and a SIGHUP reload too). */
export function checkValues(c: RelayConfig): void {
  // The UDP planes (media cells, TURN) bind to it, and dgram needs an address, not a name.
  if (isIP(c.host) === 0) throw new ConfigError('host', `host must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1), got ${JSON.stringify(c.host)}`);
  if ((c.tlsCert === '') !== (c.tlsKey === '')) throw new ConfigError('tlsCert', 'tlsCert and tlsKey must be given together');
  if (c.http.headersTimeoutMs > c.http.requestTimeoutMs) throw new ConfigError('http.headersTimeoutMs', 'http.headersTimeoutMs must not exceed http.requestTimeoutMs');
  const b = c.envelope.sizeBuckets;
  if (b.length === 0) throw new ConfigError('envelope.sizeBuckets', 'envelope.sizeBuckets: at least one bucket is required');
  if (new Set(b).size !== b.length) throw new ConfigError('envelope.sizeBuckets', 'envelope.sizeBuckets: buckets must be distinct');
  if (c.media.enabled) checkMedia(c);
  if (c.turn.enabled) checkTurn(c.turn, c.host);
  if (c.rtc.enabled) checkRtc(c);
  checkPorts(c);
  checkCluster(c);
  for (const name of ['trustProxy', 'metricsAllow'] as const) {
    for (const entry of c[name]) {
      if (parseSubnet(entry) === undefined) throw new ConfigError(name, `${name}: ${JSON.stringify(entry)} is not an IP address or CIDR (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)`);
    }
  }
}

function checkCluster(c: RelayConfig): void {
  const k = c.cluster;
  if (k.leaseRenewMs * 2 > k.leaseTtlMs) throw new ConfigError('cluster.leaseRenewMs', `cluster.leaseRenewMs (${k.leaseRenewMs}) must be at most half of cluster.leaseTtlMs (${k.leaseTtlMs}), so one lost renewal does not lose a lease`);
  if (k.publicUrl === '') {
    // Cluster mode sends clients to this node's URL: the listening address will not do when it is a wildcard.
    if (c.store === 'redis' && c.media.enabled && isWildcard(c.host)) {
      throw new ConfigError('cluster.publicUrl', `cluster.publicUrl: host ${c.host} is a wildcard address; set cluster.publicUrl to the URL clients reach this node at (cluster mode redirects joins there)`);
    }
    return;
  }
  let u: URL | undefined;
  try {
    u = new URL(k.publicUrl);
  } catch {
    u = undefined;
  }
  if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    throw new ConfigError('cluster.publicUrl', `cluster.publicUrl: ${JSON.stringify(k.publicUrl)} is not an http(s) base URL without query, fragment or credentials`);
  }
}

const unspecified = new BlockList();
unspecified.addAddress('0.0.0.0', 'ipv4');
unspecified.addAddress('::', 'ipv6'); // matches ::0, 0:0::0 and every other spelling
const isWildcard = (ip: string): boolean => isIP(ip) !== 0 && unspecified.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');

/**
 * The address in the WebRTC edge's ICE candidates: rtc.advertisedHost, else media.advertisedHost
 * when it is an IPv4 address, else host; undefined when that is no usable IPv4 address (an IPv6
 * or wildcard host, a DNS name): the relay then starts without the edge and says why in its log,
 * rather than refusing to start over a plane the operator may not use. An rtc.advertisedHost that
 * is set must be usable (checked below).
 */
export function rtcAdvertisedHost(c: RelayConfig): string | undefined {
  const pick = c.rtc.advertisedHost !== '' ? c.rtc.advertisedHost : isIP(c.media.advertisedHost) === 4 ? c.media.advertisedHost : c.host;
  return isIP(pick) === 4 && !isWildcard(pick) ? pick : undefined;
}

function checkRtc(c: RelayConfig): void {
  const r = c.rtc;
  if (r.advertisedHost !== '' && (isIP(r.advertisedHost) !== 4 || isWildcard(r.advertisedHost))) {
    throw new ConfigError('rtc.advertisedHost', `rtc.advertisedHost: the edge advertises one IPv4 host candidate; ${JSON.stringify(r.advertisedHost)} is not a usable IPv4 address`);
  }
  // The edge's one UDP port must not be another plane's (the second bind would fail at start).
  if (r.port === 0) return;
  if (c.media.enabled && r.port === c.media.udpPort) throw new ConfigError('rtc.port', `rtc.port ${r.port} is media.udpPort too`);
  const t = c.turn;
  if (t.enabled && r.port === t.port) throw new ConfigError('rtc.port', `rtc.port ${r.port} is turn.port too`);
  if (t.enabled && t.relayPortMin !== 0 && r.port >= t.relayPortMin && r.port <= t.relayPortMax) {
    throw new ConfigError('rtc.port', `rtc.port ${r.port} is inside turn.relayPortMin..turn.relayPortMax`);
  }
}

function checkMedia(c: RelayConfig): void {
  const m = c.media;
  if (m.advertisedHost === '' && isWildcard(c.host)) {
    throw new ConfigError('media.advertisedHost', `media.advertisedHost: host ${c.host} is a wildcard address; set media.advertisedHost to the address clients send cells to`);
  }
  mediaProfiles(m);
}

/** The cadence profiles of `media.profiles`, checked against `media.roomCap` (the media plane takes them from here). */
export function mediaProfiles(m: RelayConfig['media']): Profile[] {
  const profiles = parseProfiles(m.profiles);
  if (typeof profiles === 'string') throw new ConfigError('media.profiles', `media.profiles: ${profiles}`);
  // A downlink body must carry the roster of a full room.
  const minDown = minBodyForRoster(m.roomCap);
  for (const p of profiles) {
    if (p.downBytes < minDown) throw new ConfigError('media.profiles', `media.profiles: profile "${p.name}" down body ${p.downBytes} cannot carry a roster of media.roomCap ${m.roomCap} (needs ${minDown})`);
  }
  return profiles;
}

function checkTurn(t: RelayConfig['turn'], host: string): void {
  const relayIp = t.relayIp !== '' ? t.relayIp : host;
  const family = isIP(relayIp);
  if (family === 0) throw new ConfigError('turn.relayIp', `turn.relayIp: "${relayIp}" is not an IP address`);
  if (t.relayPortMin > t.relayPortMax) throw new ConfigError('turn.relayPortMin', 'turn.relayPortMin must not exceed turn.relayPortMax');
  if ((t.relayPortMin === 0) !== (t.relayPortMax === 0)) throw new ConfigError('turn.relayPortMin', 'turn.relayPortMin and turn.relayPortMax must both be 0 (ephemeral) or both set');
  const externalIp = t.externalIp !== '' ? t.externalIp : relayIp;
  if (isWildcard(externalIp)) throw new ConfigError('turn.externalIp', `turn.externalIp: relay sockets bind the wildcard address ${relayIp}; set turn.externalIp to the address clients reach`);
  if (isIP(externalIp) !== family) throw new ConfigError('turn.externalIp', `turn.externalIp: "${externalIp}" must be an IP address of the relay address's family (IPv${family})`);
  if ((t.tlsCert === '') !== (t.tlsKey === '')) throw new ConfigError('turn.tlsCert', 'turn.tlsCert and turn.tlsKey must be given together');
}

/** Two listeners of one protocol on one fixed port would fail to bind (EADDRINUSE) halfway through start. */
function checkPorts(c: RelayConfig): void {
  const t = c.turn;
  const tcp: [string, number, boolean][] = [
    ['httpPort', c.httpPort, true],
    ['turn.port', t.port, t.enabled && t.tcp],
    ['turn.tlsPort', t.tlsPort, t.enabled && t.tls],
  ];
  const udp: [string, number, boolean][] = [
    ['media.udpPort', c.media.udpPort, c.media.enabled],
    ['turn.port', t.port, t.enabled],
  ];
  for (const [proto, list] of [['TCP', tcp], ['UDP', udp]] as const) {
    const used = list.filter(([, port, on]) => on && port !== 0);
    for (let i = 1; i < used.length; i++) {
      const same = used.slice(0, i).find(([, port]) => port === used[i]![1]);
      if (same) throw new ConfigError(used[i]![0], `${used[i]![0]}: ${proto} port ${used[i]![1]} is also ${same[0]}'s`);
    }
  }
}

/** The TLS files: readable, PEM, and a certificate with its key. A pair the HTTPS or TURN-over-TLS listener would refuse. */
function checkFiles(c: RelayConfig): void {
  if (c.tlsCert !== '') checkPemPair(['tlsCert', c.tlsCert], ['tlsKey', c.tlsKey]);
  const t = c.turn;
  if (!t.enabled || !t.tls) return;
  if (t.tlsCert !== '') checkPemPair(['turn.tlsCert', t.tlsCert], ['turn.tlsKey', t.tlsKey]);
  else if (c.tlsCert === '') throw new ConfigError('turn.tls', 'turn.tls: needs turn.tlsCert and turn.tlsKey (or tlsCert and tlsKey)');
}

type FileField = [name: string, path: string];

function checkPemPair(cert: FileField, key: FileField): void {
  const certPem = readPem(cert, 'cert');
  const keyPem = readPem(key, 'key');
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new ConfigError(key[0], `${key[0]}: the key does not match ${cert[0]}'s certificate (${(err as NodeJS.ErrnoException).code ?? 'invalid'})`);
  }
}

/** Reads one PEM file and parses it alone; the key file's path is not quoted (its field is secret). */
function readPem([name, path]: FileField, kind: 'cert' | 'key'): Buffer {
  const shown = kind === 'cert' ? ` ${path}` : '';
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new ConfigError(name, `${name}: cannot read the file${shown} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    createSecureContext(kind === 'cert' ? { cert: pem } : { key: pem });
  } catch (err) {
    throw new ConfigError(name, `${name}: the file${shown} is not a PEM ${kind === 'cert' ? 'certificate' : 'private key'} (${(err as NodeJS.ErrnoException).code ?? 'invalid'})`);
  }
  return pem;
}
