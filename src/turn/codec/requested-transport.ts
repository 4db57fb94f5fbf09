/** RFC 8656 section 14.7: REQUESTED-TRANSPORT, a protocol number (17 = UDP) and 3 reserved bytes. */

/** The protocol number, or -1 when the value is not 4 bytes. */
export function decodeRequestedTransport(value: Uint8Array): number {
  return value.length === 4 ? value[0]! : -1;
}
