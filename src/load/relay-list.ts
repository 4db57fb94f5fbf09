/**
 * Several relay nodes as one load target (`xrelay load --relay URL,URL`): a cluster sharing a Redis.
 * Joins and mailbox readers are spread round robin over the nodes, each client given the whole list
 * starting at its node (the SDK hands over to the next one if its node does not answer, and follows
 * room_elsewhere to the node holding the room); posts are spread by autocannon over every URL.
 */

/** The URLs of a `--relay` value: one or more http(s) URLs, comma-separated; throws naming the bad one. */
export function parseRelayList(text: string): string[] {
  const urls = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (urls.length === 0) throw new Error('must be one or more http:// or https:// URLs, comma-separated');
  for (const t of urls) {
    let u: URL | undefined;
    try {
      u = new URL(t);
    } catch {
      u = undefined;
    }
    if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new Error(`must be http:// or https:// URLs, comma-separated, got "${t}"`);
  }
  if (new Set(urls).size !== urls.length) throw new Error('names a URL twice');
  return urls;
}

/** Client `i`'s relay list: every URL, starting at node i mod n (so n clients land on n different nodes). */
export function relaysFor(urls: readonly string[], i: number): string[] {
  const n = urls.length;
  const k = ((i % n) + n) % n;
  return [...urls.slice(k), ...urls.slice(0, k)];
}
