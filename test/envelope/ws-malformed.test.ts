/**
 * Issue 9 item 1: a protocol-violating frame on any WebSocket route must close that socket with the
 * RFC 6455 code and be counted, never end the process. Each frame is written raw after a hand-made
 * handshake, on every WebSocket route; after each, an honest client posts over `/v1/post` and reads
 * over `/v1/mailbox` on the same relay process. (Before the router's error listener, the first frame
 * on `/v1/post` raised an unhandled 'error' and the process exited.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxReader, PostSocket, generateMailboxKeys, type MailboxKeys } from '../../src/client/index.js';
import { CELLS_WS_PATH } from '../../src/media/server/join-route.js';
import { POST_PATH, READER_PATH } from '../../src/wire/envelope-protocol.js';
import { claimedLengthHeader, clientFrame, rawUpgrade } from '../helpers/raw-ws.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;
let honest: MailboxKeys;
let reader: MailboxReader;
const got = new Set<string>();

beforeAll(async () => {
  relay = await startTestRelay({ media: { enabled: true, dataPlane: 'typescript' } }, { logLevel: 'warn' });
  honest = await generateMailboxKeys();
  reader = new MailboxReader({ relayUrl: relay.url, keys: honest, autoAck: true });
  reader.on('envelope', (e) => got.add(e.id));
  await reader.connect();
});
afterAll(async () => {
  reader.close();
  await relay.dispose();
});

/** An honest post over the post socket, read back by the honest reader, on the same process. */
async function honestRoundTrip(): Promise<void> {
  const post = await PostSocket.open(relay.url);
  try {
    const id = await post.post(honest.mailboxId, new Uint8Array(256));
    await expect.poll(() => got.has(id), { timeout: 10_000 }).toBe(true);
  } finally {
    post.close();
  }
}

const hello = Buffer.from('hello');
/** name, bytes, the close code RFC 6455 section 7.4.1 gives it, the ws error code counted. */
const MALFORMED: Array<[string, Buffer, number, string]> = [
  ['unmasked frame 82 05 68 65 6c 6c 6f', Buffer.from('820568656c6c6f', 'hex'), 1002, 'WS_ERR_EXPECTED_MASK'],
  ['frame over maxPayload (1 MB claimed)', claimedLengthHeader(2, 1_000_000n), 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
  ['2^62 length header', claimedLengthHeader(2, 2n ** 62n), 1009, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'],
  ['reserved opcode 3', clientFrame(3, hello), 1002, 'WS_ERR_INVALID_OPCODE'],
  ['invalid UTF-8 in a text frame', clientFrame(1, Buffer.from('fffefd', 'hex')), 1007, 'WS_ERR_INVALID_UTF8'],
  ['RSV1 set (no extension negotiated)', clientFrame(2, hello, { first: 0x80 | 0x40 | 2 }), 1002, 'WS_ERR_UNEXPECTED_RSV_1'],
  ['close code 999', clientFrame(8, Buffer.from('03e7', 'hex')), 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
];
const ROUTES = [POST_PATH, READER_PATH, CELLS_WS_PATH];

const counted = (code: string): number => relay.metric(`xrelay_ws_protocol_errors_total{code="${code}"}`);

describe.each(ROUTES)('malformed frames on %s', (path) => {
  it.each(MALFORMED)('%s: closed with its code, counted, the process serves on', async (_name, bytes, closeCode, wsCode) => {
    const before = counted(wsCode);
    const raw = await rawUpgrade(relay.url, path);
    raw.write(bytes);
    await expect.poll(() => raw.frames().some((f) => f.opcode === 8), { timeout: 5000 }).toBe(true);
    raw.socket.destroy();
    expect((await raw.ended).closeCode).toBe(closeCode);
    expect(counted(wsCode)).toBe(before + 1);
    await honestRoundTrip();
  });

  it('random bytes after a valid handshake (and inside the handshake packet)', async () => {
    let seed = 0x9e3779b9 ^ path.length;
    const next = (): number => {
      seed = (seed + 0x6d2b79f5) | 0; // mulberry32: a fixed sequence, so a failure replays
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    let closedByServer = 0;
    for (let round = 0; round < 24; round++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 300) }, () => Math.floor(next() * 256)));
      const raw = round % 2 === 0 ? await rawUpgrade(relay.url, path) : await rawUpgrade(relay.url, path, bytes);
      if (round % 2 === 0) raw.write(bytes);
      // A random length header may leave the server waiting for payload that never comes: give it
      // a moment to refuse, then leave (the post socket's idle timeout would close it otherwise).
      const refused = await Promise.race([raw.ended.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(raw.frames().some((f) => f.opcode === 8)), 150))]);
      if (refused) closedByServer++;
      raw.socket.destroy();
    }
    console.log(`${path}: ${closedByServer}/24 random-byte connections closed by the relay within 150 ms`);
    expect(closedByServer).toBeGreaterThan(0);
    await honestRoundTrip();
  });
});
