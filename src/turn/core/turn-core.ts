/**
 * The sans-IO TURN server core (RFC 8656 over RFC 8489): authenticates requests (`Authenticator`:
 * long-term credentials, stateless nonces), manages allocations, permissions and channels, enforces quotas
 * and the peer-address policy, and hands the data path to `DataPath`. Input: bytes, the client's
 * address and `nowMs`. Output: calls on `TurnIo`. Unauthenticated requests create no state.
 */
import {
  Attr, ErrorCodes, Method, StunClass, TRANSPORT_UDP,
} from '../codec/constants.js';
import { decodeChannelNumber } from '../codec/channel-number.js';
import { verifyFingerprint } from '../codec/fingerprint.js';
import { decodeLifetime } from '../codec/lifetime.js';
import { DecodeResult, StunMessage, decodeStun } from '../codec/message.js';
import { decodeRequestedAddressFamily } from '../codec/requested-address-family.js';
import { decodeRequestedTransport } from '../codec/requested-transport.js';
import { encodeUnknownAttributes } from '../codec/unknown-attributes.js';
import { StunWriter } from '../codec/writer.js';
import { AddressResult, TransportAddress, decodeAddress } from '../codec/xor-address.js';
import { AddressPolicy } from './address-policy.js';
import { Allocation, AllocationState } from './allocation.js';
import { Authenticator, type Auth } from './authenticator.js';
import { DataPath } from './data-path.js';
import type { TurnCoreOptions } from './options.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { createTurnStats, type ClientRef, type CloseReason, type TurnIo, type TurnStats } from './types.js';

/** Comprehension-required attributes we understand. DONT-FRAGMENT is deliberately absent: Node cannot
 * set the DF bit, and RFC 8656 section 7.2 says to treat it as unknown then (420). */
const KNOWN = new Set<number>([
  Attr.mappedAddress, Attr.username, Attr.messageIntegrity, Attr.errorCode, Attr.channelNumber, Attr.lifetime,
  Attr.xorPeerAddress, Attr.data, Attr.realm, Attr.nonce, Attr.xorRelayedAddress, Attr.requestedAddressFamily,
  Attr.evenPort, Attr.requestedTransport, Attr.messageIntegritySha256, Attr.xorMappedAddress, Attr.reservationToken,
  Attr.priority, Attr.useCandidate,
]);

const EMPTY_KEY = Buffer.alloc(0);

export class TurnCore {
  readonly stats: TurnStats = createTurnStats();
  /** Allocations by client 5-tuple key. */
  readonly allocations = new Map<string, Allocation>();
  private readonly perUser = new Map<string, number>();
  private readonly msg = new StunMessage();
  private readonly addr = new TransportAddress();
  private readonly writer = new StunWriter();
  private readonly auth: Authenticator;
  private readonly limiter: SourceRateLimiter;
  private readonly policy: AddressPolicy;
  private readonly dataPath: DataPath;
  private nextId = 1;

  constructor(
    private readonly opts: TurnCoreOptions,
    private readonly io: TurnIo,
  ) {
    this.auth = new Authenticator(opts.realm, opts.authSecret, opts.staticUsers, opts.nonceKey, opts.nonceLifetimeMs);
    this.limiter = new SourceRateLimiter(opts.unauthRatePerSec, opts.unauthBurst);
    this.policy = new AddressPolicy(opts.peerAllowList, opts.peerDenyList);
    this.dataPath = new DataPath(io, this.stats, opts.tidPrefix);
  }

  /** A datagram from a UDP client. */
  handleUdp(ip: string, port: number, buf: Buffer, nowMs: number): void {
    const key = ip + ':' + port;
    const alloc = this.allocations.get(key);
    const b0 = buf.length > 0 ? buf[0]! : 0xff;
    if ((b0 & 0xc0) === 0x40) {
      if (alloc !== undefined) this.dataPath.fromClientChannelData(alloc, buf, nowMs);
      else this.stats.dropped.no_allocation++;
      return;
    }
    if ((b0 & 0xc0) !== 0) {
      this.stats.dropped.not_stun++;
      return;
    }
    this.handleStun(alloc?.client ?? { transport: 'udp', ip, port, key, conn: undefined }, alloc, buf, nowMs);
  }

  /** One framed message from a stream (TCP) client; `client` is stable for the connection. */
  handleStream(client: ClientRef, buf: Buffer, nowMs: number): void {
    const alloc = this.allocations.get(client.key);
    if ((buf[0]! & 0xc0) === 0x40) {
      if (alloc !== undefined) this.dataPath.fromClientChannelData(alloc, buf, nowMs);
      else this.stats.dropped.no_allocation++;
      return;
    }
    this.handleStun(client, alloc, buf, nowMs);
  }

  /** A datagram on an allocation's relay socket. */
  handlePeer(alloc: Allocation, ip: string, port: number, data: Buffer, nowMs: number): void {
    if (alloc.state !== AllocationState.open) return;
    this.dataPath.fromPeer(alloc, ip, port, data, nowMs);
  }

  /** The host bound the relay socket: answer the Allocate. */
  relayOpened(alloc: Allocation, relayPort: number, nowMs: number): void {
    if (alloc.state !== AllocationState.opening) return;
    alloc.state = AllocationState.open;
    alloc.relayPort = relayPort;
    const w = this.begin(Method.allocate, StunClass.success, alloc.allocateTid)
      .address(Attr.xorRelayedAddress, this.opts.externalIp, relayPort)
      .u32(Attr.lifetime, Math.round((alloc.expiresAt - nowMs) / 1000))
      .address(Attr.xorMappedAddress, alloc.client.ip, alloc.client.port);
    alloc.allocateResponse = this.seal(w, alloc.key, alloc.useSha256);
    this.io.sendToClient(alloc.client, alloc.allocateResponse);
    this.io.onAllocation?.('open', alloc);
  }

  /** The host could not bind a relay socket (port range exhausted): 508. */
  relayFailed(alloc: Allocation): void {
    if (alloc.state !== AllocationState.opening) return;
    this.countError(ErrorCodes.insufficientCapacity);
    const w = this.begin(Method.allocate, StunClass.error, alloc.allocateTid).errorCode(ErrorCodes.insufficientCapacity);
    this.io.sendToClient(alloc.client, this.seal(w, alloc.key, alloc.useSha256));
    this.free(alloc, 'relay_failed');
  }

  /** A stream client went away: its allocation goes with it (RFC 8656 section 3.1). */
  clientClosed(key: string): void {
    const alloc = this.allocations.get(key);
    if (alloc) this.free(alloc, 'client_gone');
  }

  /** Expires allocations, permissions and channels; returns the next time anything expires. */
  tick(nowMs: number): number {
    let next = Infinity;
    for (const alloc of this.allocations.values()) {
      if (alloc.expiresAt <= nowMs) {
        this.free(alloc, 'expired');
        continue;
      }
      next = Math.min(next, alloc.expiresAt, alloc.prune(nowMs));
    }
    return next;
  }

  /** Frees every allocation (shutdown). */
  closeAll(): void {
    for (const alloc of [...this.allocations.values()]) this.free(alloc, 'shutdown');
  }

  allocationCount(): number {
    return this.allocations.size;
  }

  // ---- requests ----

  private handleStun(client: ClientRef, alloc: Allocation | undefined, buf: Buffer, nowMs: number): void {
    const m = this.msg;
    if (decodeStun(buf, m) !== DecodeResult.ok) {
      this.stats.dropped.malformed++;
      return;
    }
    if (m.fingerprintAt >= 0 && !verifyFingerprint(m.buf, m.fingerprintAt)) {
      this.stats.dropped.bad_fingerprint++;
      return;
    }
    if (m.cls === StunClass.indication) {
      if (m.method === Method.send && alloc !== undefined) this.onSend(alloc, nowMs);
      else this.stats.dropped.unexpected_class++;
      return;
    }
    if (m.cls !== StunClass.request) {
      this.stats.dropped.unexpected_class++;
      return;
    }
    switch (m.method) {
      case Method.binding:
        this.stats.requests.binding++;
        if (!this.limiter.take(client.ip, nowMs)) {
          this.stats.dropped.rate_limited++;
          return;
        }
        this.io.sendToClient(client, this.seal(this.begin(Method.binding, StunClass.success, m.transactionId()).address(Attr.xorMappedAddress, client.ip, client.port)));
        return;
      case Method.allocate:
        this.stats.requests.allocate++;
        break;
      case Method.refresh:
        this.stats.requests.refresh++;
        break;
      case Method.createPermission:
        this.stats.requests.create_permission++;
        break;
      case Method.channelBind:
        this.stats.requests.channel_bind++;
        break;
      default:
        this.stats.requests.other++;
        this.unauthError(client, ErrorCodes.badRequest, nowMs, false);
        return;
    }
    const auth: Auth = { username: '', key: EMPTY_KEY, sha256: false };
    const authError = this.auth.check(m, client.ip, nowMs, auth);
    if (authError !== 0) {
      // 401 and 438 carry a fresh REALM and NONCE so the client can retry (RFC 8489 section 9.2.4).
      this.unauthError(client, authError, nowMs, authError !== ErrorCodes.badRequest);
      return;
    }
    if (alloc !== undefined && alloc.username !== auth.username) {
      this.error(client, auth, ErrorCodes.wrongCredentials);
      return;
    }
    const unknown = m.unknownRequired(KNOWN);
    if (unknown.length > 0) {
      this.error(client, auth, ErrorCodes.unknownAttribute, encodeUnknownAttributes(unknown));
      return;
    }
    if (m.method === Method.allocate) this.onAllocate(client, alloc, auth, nowMs);
    else if (alloc === undefined) this.error(client, auth, ErrorCodes.allocationMismatch);
    else if (m.method === Method.refresh) this.onRefresh(alloc, auth, nowMs);
    else if (m.method === Method.createPermission) this.onCreatePermission(alloc, auth, nowMs);
    else this.onChannelBind(alloc, auth, nowMs);
  }

  private onAllocate(client: ClientRef, alloc: Allocation | undefined, auth: Auth, nowMs: number): void {
    const m = this.msg;
    if (alloc !== undefined) {
      // A retransmitted Allocate gets the same answer (RFC 8656 section 7.2); any other is a mismatch.
      if (alloc.allocateTid.equals(m.transactionId())) {
        if (alloc.allocateResponse) this.io.sendToClient(client, alloc.allocateResponse);
      } else {
        this.error(client, auth, ErrorCodes.allocationMismatch);
      }
      return;
    }
    const transport = m.value(Attr.requestedTransport);
    if (transport === undefined) return this.error(client, auth, ErrorCodes.badRequest);
    if (decodeRequestedTransport(transport) !== TRANSPORT_UDP) return this.error(client, auth, ErrorCodes.unsupportedTransportProtocol);
    // We hold no reserved ports, so every RESERVATION-TOKEN is invalid (RFC 8656 section 7.2: 508).
    if (m.has(Attr.reservationToken)) return this.error(client, auth, ErrorCodes.insufficientCapacity);
    const familyValue = m.value(Attr.requestedAddressFamily);
    // Absent means IPv4 (RFC 8656 section 7.2).
    const family = familyValue === undefined ? 4 : decodeRequestedAddressFamily(familyValue);
    if (family !== this.opts.relayFamily) return this.error(client, auth, ErrorCodes.addressFamilyNotSupported);
    const held = this.perUser.get(auth.username) ?? 0;
    if (held >= this.opts.maxAllocationsPerUser) return this.error(client, auth, ErrorCodes.allocationQuotaReached);
    if (this.allocations.size >= this.opts.maxAllocations) return this.error(client, auth, ErrorCodes.insufficientCapacity);
    const lifetimeMs = this.lifetimeMs(m.value(Attr.lifetime));
    const created = new Allocation(this.nextId++, client, auth.username, auth.key, auth.sha256, family, Buffer.from(m.transactionId()), nowMs + lifetimeMs);
    this.allocations.set(client.key, created);
    this.perUser.set(auth.username, held + 1);
    this.io.openRelay(created, m.has(Attr.evenPort));
  }

  private onRefresh(alloc: Allocation, auth: Auth, nowMs: number): void {
    const m = this.msg;
    const requested = m.value(Attr.lifetime);
    const tid = m.transactionId();
    if (requested !== undefined && decodeLifetime(requested) === 0) {
      const w = this.begin(Method.refresh, StunClass.success, tid).u32(Attr.lifetime, 0);
      this.io.sendToClient(alloc.client, this.seal(w, auth.key, auth.sha256));
      this.free(alloc, 'refresh');
      return;
    }
    const lifetimeMs = this.lifetimeMs(requested);
    alloc.expiresAt = nowMs + lifetimeMs;
    const w = this.begin(Method.refresh, StunClass.success, tid).u32(Attr.lifetime, Math.round(lifetimeMs / 1000));
    this.io.sendToClient(alloc.client, this.seal(w, auth.key, auth.sha256));
  }

  private onCreatePermission(alloc: Allocation, auth: Auth, nowMs: number): void {
    const m = this.msg;
    const ips: string[] = [];
    for (let i = 0; i < m.count; i++) {
      if (m.types[i] !== Attr.xorPeerAddress) continue;
      const code = this.checkPeer(alloc, m.valueAt(i));
      if (code !== 0) return this.error(alloc.client, auth, code);
      ips.push(this.addr.ip);
    }
    if (ips.length === 0) return this.error(alloc.client, auth, ErrorCodes.badRequest);
    let added = 0;
    for (const ip of ips) if (!alloc.permissions.has(ip)) added++;
    if (alloc.permissions.size + added > this.opts.maxPermissionsPerAllocation) {
      alloc.prune(nowMs);
      if (alloc.permissions.size + added > this.opts.maxPermissionsPerAllocation) return this.error(alloc.client, auth, ErrorCodes.insufficientCapacity);
    }
    for (const ip of ips) alloc.permissions.set(ip, nowMs + this.opts.permissionLifetimeMs);
    this.io.forwardingChanged?.(alloc);
    this.io.sendToClient(alloc.client, this.seal(this.begin(Method.createPermission, StunClass.success, m.transactionId()), auth.key, auth.sha256));
  }

  private onChannelBind(alloc: Allocation, auth: Auth, nowMs: number): void {
    const m = this.msg;
    const numberValue = m.value(Attr.channelNumber);
    const peerValue = m.value(Attr.xorPeerAddress);
    const number = numberValue === undefined ? 0 : decodeChannelNumber(numberValue);
    if (number === 0 || peerValue === undefined) return this.error(alloc.client, auth, ErrorCodes.badRequest);
    const code = this.checkPeer(alloc, peerValue);
    if (code !== 0) return this.error(alloc.client, auth, code);
    const { ip, port } = this.addr;
    if (port === 0) return this.error(alloc.client, auth, ErrorCodes.badRequest);
    alloc.prune(nowMs);
    const existing = alloc.channels.get(number);
    const forPeer = alloc.channelForPeer(ip, port);
    // RFC 8656 section 12.2: a channel is bound to one peer and a peer to one channel.
    if ((existing && (existing.ip !== ip || existing.port !== port)) || (forPeer && forPeer.number !== number)) {
      return this.error(alloc.client, auth, ErrorCodes.badRequest);
    }
    if (!existing && alloc.channels.size >= this.opts.maxChannelsPerAllocation) return this.error(alloc.client, auth, ErrorCodes.insufficientCapacity);
    if (!alloc.permissions.has(ip) && alloc.permissions.size >= this.opts.maxPermissionsPerAllocation) {
      return this.error(alloc.client, auth, ErrorCodes.insufficientCapacity);
    }
    alloc.bindChannel(number, ip, port, nowMs + this.opts.channelLifetimeMs);
    alloc.permissions.set(ip, nowMs + this.opts.permissionLifetimeMs);
    this.io.forwardingChanged?.(alloc);
    this.io.sendToClient(alloc.client, this.seal(this.begin(Method.channelBind, StunClass.success, m.transactionId()), auth.key, auth.sha256));
  }

  private onSend(alloc: Allocation, nowMs: number): void {
    const m = this.msg;
    const peer = m.value(Attr.xorPeerAddress);
    const data = m.value(Attr.data);
    // Port 0 is no destination (and dgram refuses it): drop it like any malformed Send.
    if (peer === undefined || data === undefined || decodeAddress(peer, m.transactionId(), this.addr) !== AddressResult.ok || this.addr.port === 0) {
      this.stats.dropped.bad_send++;
      return;
    }
    this.dataPath.fromClientSend(alloc, this.addr.ip, this.addr.port, data, nowMs);
  }

  /** Decodes a XOR-PEER-ADDRESS into `this.addr`; returns 0 or the error code to answer. */
  private checkPeer(alloc: Allocation, value: Buffer): number {
    if (decodeAddress(value, this.msg.transactionId(), this.addr) !== AddressResult.ok) return ErrorCodes.badRequest;
    if (this.addr.family !== alloc.family) return ErrorCodes.peerAddressFamilyMismatch;
    if (!this.policy.isAllowed(this.addr.ip)) return ErrorCodes.forbidden;
    return 0;
  }

  /** RFC 8656 section 7.2: the default when absent or shorter, capped at the maximum. */
  private lifetimeMs(value: Buffer | undefined): number {
    const def = this.opts.allocationLifetimeMs;
    if (value === undefined) return def;
    const sec = decodeLifetime(value);
    if (sec < 0) return def;
    return Math.min(Math.max(sec * 1000, def), this.opts.maxAllocationLifetimeMs);
  }

  private free(alloc: Allocation, reason: CloseReason): void {
    if (alloc.state === AllocationState.closed) return;
    const wasOpen = alloc.state === AllocationState.open;
    alloc.state = AllocationState.closed;
    if (this.allocations.get(alloc.client.key) === alloc) this.allocations.delete(alloc.client.key);
    const held = (this.perUser.get(alloc.username) ?? 1) - 1;
    if (held <= 0) this.perUser.delete(alloc.username);
    else this.perUser.set(alloc.username, held);
    this.io.closeRelay(alloc);
    if (wasOpen) this.io.onAllocation?.('close', alloc, reason);
  }

  // ---- responses ----

  private begin(method: number, cls: number, tid: Uint8Array): StunWriter {
    const w = this.writer.begin(method, cls, tid);
    if (this.opts.software !== '') w.string(Attr.software, this.opts.software);
    return w;
  }

  private seal(w: StunWriter, key?: Buffer, sha256 = false): Buffer {
    if (key !== undefined) {
      if (sha256) w.integritySha256(key);
      else w.integrity(key);
    }
    return w.fingerprint().finish();
  }

  private countError(code: number): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
  }

  /** An error to an authenticated request, signed with the request's key. */
  private error(client: ClientRef, auth: Auth, code: number, unknown?: Buffer): void {
    this.countError(code);
    const w = this.begin(this.msg.method, StunClass.error, this.msg.transactionId()).errorCode(code);
    if (unknown !== undefined) w.bytes(Attr.unknownAttributes, unknown);
    this.io.sendToClient(client, this.seal(w, auth.key, auth.sha256));
  }

  /** An unsigned error (400/401/438), rate-limited per source so it cannot be used to amplify. */
  private unauthError(client: ClientRef, code: number, nowMs: number, challenge: boolean): void {
    if (!this.limiter.take(client.ip, nowMs)) {
      this.stats.dropped.rate_limited++;
      return;
    }
    this.countError(code);
    const w = this.begin(this.msg.method, StunClass.error, this.msg.transactionId()).errorCode(code);
    if (challenge) w.string(Attr.realm, this.opts.realm).string(Attr.nonce, this.auth.issueNonce(client.ip, nowMs));
    this.io.sendToClient(client, this.seal(w));
  }
}
