// A tiny TURN client message builder for tests: requests with or without long-term credentials,
// and a decoder for answers. Not used by src/.
import { randomBytes } from 'node:crypto';
import {
  Attr, Method, StunClass, StunMessage, StunWriter, TransportAddress, decodeAddress, decodeErrorCode, decodeStun, longTermKey,
} from '../../../src/turn/codec/index.js';

export interface Creds {
  username: string;
  password: string;
  realm: string;
  nonce: string;
}

export type AttrFn = (w: StunWriter) => void;

export function request(method: number, attrs: AttrFn[] = [], creds?: Creds, opts: { sha256?: boolean; tid?: Buffer; fingerprint?: boolean } = {}): Buffer {
  const w = new StunWriter().begin(method, StunClass.request, opts.tid ?? randomBytes(12));
  for (const a of attrs) a(w);
  if (creds) {
    w.string(Attr.username, creds.username).string(Attr.realm, creds.realm).string(Attr.nonce, creds.nonce);
    const key = longTermKey(creds.username, creds.realm, creds.password);
    if (opts.sha256) w.integritySha256(key);
    else w.integrity(key);
  }
  if (opts.fingerprint !== false) w.fingerprint();
  return w.finish();
}

export function sendIndication(ip: string, port: number, data: Buffer): Buffer {
  return new StunWriter().begin(Method.send, StunClass.indication, randomBytes(12)).address(Attr.xorPeerAddress, ip, port).bytes(Attr.data, data).finish();
}

export const transportUdp: AttrFn = (w) => w.byteThenReserved(Attr.requestedTransport, 17);
export const lifetime = (sec: number): AttrFn => (w) => w.u32(Attr.lifetime, sec);
export const peer = (ip: string, port: number): AttrFn => (w) => w.address(Attr.xorPeerAddress, ip, port);
export const channel = (n: number): AttrFn => (w) => w.u16ThenReserved(Attr.channelNumber, n);

export interface Answer {
  method: number;
  cls: number;
  code: number;
  realm?: string;
  nonce?: string;
  lifetime?: number;
  relayed?: { ip: string; port: number };
  mapped?: { ip: string; port: number };
  peer?: { ip: string; port: number };
  data?: Buffer;
  tid: Buffer;
  hasIntegrity: boolean;
}

export function parse(buf: Buffer): Answer {
  const m = new StunMessage();
  const r = decodeStun(Buffer.from(buf), m);
  if (r !== 0) throw new Error(`undecodable answer (${r})`);
  const addr = (type: number): { ip: string; port: number } | undefined => {
    const v = m.value(type);
    if (!v) return undefined;
    const a = new TransportAddress();
    decodeAddress(v, m.transactionId(), a);
    return { ip: a.ip, port: a.port };
  };
  const ec = m.value(Attr.errorCode);
  const lt = m.value(Attr.lifetime);
  return {
    method: m.method,
    cls: m.cls,
    code: ec ? decodeErrorCode(ec) : 0,
    realm: m.string(Attr.realm),
    nonce: m.string(Attr.nonce),
    lifetime: lt ? lt.readUInt32BE(0) : undefined,
    relayed: addr(Attr.xorRelayedAddress),
    mapped: addr(Attr.xorMappedAddress),
    peer: addr(Attr.xorPeerAddress),
    data: m.value(Attr.data) ? Buffer.from(m.value(Attr.data)!) : undefined,
    tid: Buffer.from(m.transactionId()),
    hasIntegrity: m.integrityAt >= 0 || m.integritySha256At >= 0,
  };
}

/** The two-step Allocate (401 challenge, then credentials) that most TURN tests start with. */
export async function allocateRelay(c: { call(b: Buffer): Promise<Buffer> }, username: string, password: string): Promise<{ creds: Creds; relayPort: number }> {
  const challenge = parse(await c.call(request(Method.allocate, [transportUdp])));
  const creds = { username, password, realm: challenge.realm!, nonce: challenge.nonce! };
  const ok = parse(await c.call(request(Method.allocate, [transportUdp], creds)));
  if (ok.cls !== StunClass.success || ok.relayed === undefined) throw new Error(`allocate failed: ${ok.code}`);
  return { creds, relayPort: ok.relayed.port };
}
