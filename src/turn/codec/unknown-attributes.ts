/** RFC 8489 section 14.9: UNKNOWN-ATTRIBUTES, a list of 16-bit attribute types. */

export function encodeUnknownAttributes(types: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(types.length * 2);
  for (let i = 0; i < types.length; i++) out.writeUInt16BE(types[i]!, 2 * i);
  return out;
}

export function decodeUnknownAttributes(value: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < value.length; i += 2) out.push((value[i]! << 8) | value[i + 1]!);
  return out;
}
