/**
 * STUN/TURN numbers: RFC 8489 section 5 (header, magic cookie), section 18.2 (methods), section 18.3
 * (attributes), section 18.4 (error codes); RFC 8656 section 18 (TURN methods, attributes, errors).
 * Pure data: imports nothing.
 */
export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;

/** RFC 8489 section 5: the two class bits C1 C0. */
export const StunClass = {
  request: 0,
  indication: 1,
  success: 2,
  error: 3,
} as const;

/** RFC 8489 section 18.2 and RFC 8656 section 18. */
export const Method = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;

/** RFC 8489 section 18.3, RFC 8656 section 18, RFC 8445 (ICE attributes we only carry). */
export const Attr = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  evenPort: 0x0018,
  requestedTransport: 0x0019,
  dontFragment: 0x001a,
  messageIntegritySha256: 0x001c,
  passwordAlgorithm: 0x001d,
  userhash: 0x001e,
  xorMappedAddress: 0x0020,
  reservationToken: 0x0022,
  priority: 0x0024,
  useCandidate: 0x0025,
  additionalAddressFamily: 0x8000,
  addressErrorCode: 0x8001,
  passwordAlgorithms: 0x8002,
  alternateDomain: 0x8003,
  icmp: 0x8004,
  software: 0x8022,
  alternateServer: 0x8023,
  fingerprint: 0x8028,
  iceControlled: 0x8029,
  iceControlling: 0x802a,
} as const;

/** Attributes in 0x0000-0x7FFF must be understood (RFC 8489 section 14). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** RFC 8489 section 14.8 and RFC 8656 section 18: the error codes this server produces. */
export const ErrorCodes = {
  tryAlternate: 300,
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  unknownAttribute: 420,
  allocationMismatch: 437,
  staleNonce: 438,
  addressFamilyNotSupported: 440,
  wrongCredentials: 441,
  unsupportedTransportProtocol: 442,
  peerAddressFamilyMismatch: 443,
  allocationQuotaReached: 486,
  serverError: 500,
  insufficientCapacity: 508,
} as const;

/** The recommended reason phrases (RFC 8489 section 14.8, RFC 8656 section 18). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** RFC 8656 section 14.7: REQUESTED-TRANSPORT protocol numbers. */
export const TRANSPORT_UDP = 17;
/**
 * Channel numbers. RFC 8656 section 12 narrowed the range to 0x4000-0x4FFF, but RFC 5766 clients
 * (coturn's turnutils_uclient among them) still pick from 0x4000-0x7FFF; we accept the older, wider
 * range for interoperability. Bytes 64-127 cannot start STUN, DTLS, RTP or ZRTP (RFC 7983), so the
 * demultiplexing stays unambiguous.
 */
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x7fff;
/** RFC 8656 section 14.6: REQUESTED-ADDRESS-FAMILY values (same as the address family byte). */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;
