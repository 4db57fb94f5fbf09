/** RFC 8656 section 14.6: REQUESTED-ADDRESS-FAMILY, 0x01 IPv4 or 0x02 IPv6, then 3 reserved bytes. */
import { FAMILY_IPV4, FAMILY_IPV6 } from './constants.js';

/** 4 or 6, or 0 when the value is malformed or the family unknown. */
export function decodeRequestedAddressFamily(value: Uint8Array): 0 | 4 | 6 {
  if (value.length !== 4) return 0;
  return value[0] === FAMILY_IPV4 ? 4 : value[0] === FAMILY_IPV6 ? 6 : 0;
}
