/** The `turn` section: the RFC 8656 TURN plane (docs/TURN.md). */
import { field, type Field } from './fields.js';

const secretList = (doc: string): Field<readonly string[]> => ({ ...field.stringList(doc, []), secret: true });

export const turnOptions = {
  enabled: field.bool('Serve TURN (RFC 8656) on UDP and TCP.', true),
  port: field.int('TURN listening port (UDP and TCP; 0 picks a free port).', 3478, { min: 0, max: 65535 }),
  tls: field.bool('Also accept TURN clients over TLS (`turns:`) on tlsPort, with the relay\'s tlsCert/tlsKey (or turn.tlsCert/turn.tlsKey).', false),
  tlsPort: field.int('TURN-over-TLS port (RFC 8656 default 5349; 443 gets through most firewalls; 0 picks a free port).', 5349, { min: 0, max: 65535 }),
  tlsCert: field.string('PEM certificate for TURN over TLS; empty uses the relay\'s tlsCert.', ''),
  tlsKey: field.string('PEM private key for turn.tlsCert; empty uses the relay\'s tlsKey.', '', { secret: true }),
  dataPlane: field.enum(
    'Who forwards TURN relay traffic of UDP clients (ChannelData, Send and Data indications): `native` (the N-API addon: its own thread owns the UDP listener and relay sockets, recvmmsg/sendmmsg), `typescript` (node:dgram), or `auto` (native when the addon loads). Control (auth, allocations, permissions, channels, quotas) stays in TypeScript either way; TCP/TLS clients always use the TypeScript path. The environment variable XRELAY_NATIVE=0|1 overrides it.',
    'auto',
    ['auto', 'native', 'typescript'] as const,
  ),
  tcp: field.bool('Also accept TURN clients over TCP on the same port (RFC 8656 section 3.1); relaying stays UDP.', true),
  realm: field.string('Long-term credential realm sent in REALM and mixed into every key.', 'xentrop-relay'),
  authSecret: field.string(
    'Shared secret for time-limited REST credentials (coturn `use-auth-secret`): username `expiry:tag`, password base64(HMAC-SHA1(secret, username)). Empty disables REST credentials.',
    '',
    { secret: true },
  ),
  staticUsers: secretList('Static `user:password` credentials, for tests and small setups. Prefer authSecret in production.'),
  relayIp: field.string('Address relay sockets bind to; empty means the listening host (`host`).', ''),
  externalIp: field.string('Address advertised in XOR-RELAYED-ADDRESS (behind 1:1 NAT); empty means relayIp.', ''),
  relayPortMin: field.int('Lowest relay port. 0 (with relayPortMax 0) lets the OS pick ephemeral ports.', 49152, { min: 0, max: 65535 }),
  relayPortMax: field.int('Highest relay port (inclusive).', 65535, { min: 0, max: 65535 }),
  maxAllocations: field.int('Total allocations the server holds; past it Allocate answers 508 Insufficient Capacity.', 10_000, { min: 1 }),
  maxAllocationsPerUser: field.int('Allocations one username may hold at once; past it Allocate answers 486 Allocation Quota Reached.', 16, { min: 1 }),
  maxPermissionsPerAllocation: field.int('Peer addresses one allocation may hold permissions for (508 past it).', 64, { min: 1 }),
  maxChannelsPerAllocation: field.int('Channels one allocation may bind (508 past it).', 64, { min: 1, max: 4096 }),
  allocationLifetimeSec: field.int('Default allocation lifetime in seconds (RFC 8656: 600).', 600, { min: 30 }),
  maxAllocationLifetimeSec: field.int('Longest allocation lifetime a client may request, in seconds.', 3600, { min: 30 }),
  permissionLifetimeSec: field.int('Permission lifetime in seconds (RFC 8656 fixes 300).', 300, { min: 1 }),
  channelLifetimeSec: field.int('Channel binding lifetime in seconds (RFC 8656 fixes 600).', 600, { min: 1 }),
  nonceLifetimeSec: field.int('Seconds a NONCE stays valid before requests get 438 Stale Nonce.', 600, { min: 1 }),
  peerAllowList: field.stringList(
    'CIDRs peers may be in even though they fall in a refused range (loopback, private, link-local, CGNAT, multicast, metadata), e.g. `127.0.0.1/32` for tests.',
    [],
  ),
  peerDenyList: field.stringList('Extra CIDRs refused as peers (403), on top of the built-in refused ranges.', []),
  unauthRatePerSec: field.number('Sustained unauthenticated STUN answers (401, Binding) per source address per second; beyond it requests are dropped silently.', 50, { min: 0.001 }),
  unauthBurst: field.int('Burst of unauthenticated answers per source address above the sustained rate.', 200, { min: 1 }),
  maxTcpConnections: field.int(
    'Most concurrent TURN client connections over TCP and TLS together. At the cap a new connection evicts the one that has gone longest without an allocation (counted as `evicted`); it is refused only when every connection holds an allocation.',
    4096,
    { min: 1 },
  ),
  maxTcpConnectionsPerAddress: field.int(
    'Most concurrent TURN TCP and TLS connections from one source address (an IPv6 source counts by its /64). At the cap a new connection from that address evicts that address\'s connection longest without an allocation; refused only when all of them hold one.',
    64,
    { min: 1 },
  ),
  tcpIdleTimeoutSec: field.int(
    'Seconds a TURN TCP or TLS connection may stay open without an allocation, from connect (the TLS handshake included) or from the end of its last allocation, whatever it sends; then it is closed. An allocation keeps its connection for as long as the allocation lives.',
    15,
    { min: 1, max: 3600 },
  ),
  software: field.string('SOFTWARE attribute sent in responses; empty sends none (do not advertise a version).', ''),
} as const;
