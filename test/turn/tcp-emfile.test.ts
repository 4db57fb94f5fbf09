// Out of file descriptors (issue 9 audit): a relay started with `ulimit -n 128` is flooded with twice
// that many TURN TCP connections. libuv usually absorbs EMFILE itself (it closes a reserve descriptor,
// accepts and drops the waiting connections); when it cannot, a net.Server emits 'error', which the
// TURN listeners now count (xrelay_turn_tcp_accept_errors_total) instead of dying of it. Either way the relay
// must stay up and serve a TURN client once the flood is gone. Runs the built CLI (`npm run build`
// first, as npm test does); loopback only.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Method, StunClass } from '../../src/turn/codec/index.js';
import { CLI } from '../helpers/child-relay.js';
import { parse, request } from './helpers/stun-client.js';
import { rawConnect, tcpClient, type RawConn } from './helpers/wire.js';

const FD_LIMIT = 128;

describe('TURN TCP listener out of file descriptors', () => {
  it('the relay survives, and its TCP listener serves again once fds are free', async () => {
    expect(existsSync(CLI), `${CLI} is missing: run "npm run build" first`).toBe(true);
    const dataDir = mkdtempSync(join(tmpdir(), 'xrelay-emfile-'));
    const args = [CLI, 'serve', '--http-port', '0', '--rtc-port', '0', '--no-media-enabled', '--turn-port', '0', '--turn-max-tcp-connections-per-address', '4096', '--turn-tcp-idle-timeout-sec', '60', '--data-dir', dataDir];
    const proc = spawn('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += String(d)));
    proc.stderr.on('data', (d) => (out += String(d)));
    let exited = false;
    proc.on('exit', () => (exited = true));
    const conns: RawConn[] = [];
    try {
      const started = (): RegExpExecArray | null => /"tcpPort":(\d+)[\s\S]*"httpPort":(\d+)[^\n]*"msg":"relay listening"/.exec(out);
      for (let i = 0; i < 300 && !started() && !exited; i++) await new Promise((r) => setTimeout(r, 50));
      const m = started();
      expect(m, out).not.toBeNull();
      const [tcpPort, httpPort] = [Number(m![1]), Number(m![2])];

      // Twice the fd limit: the relay runs out of descriptors part way.
      for (let i = 0; i < 2 * FD_LIMIT; i++) {
        const c = await rawConnect(tcpPort).catch(() => undefined);
        if (c) conns.push(c);
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(exited, out.slice(-2000)).toBe(false);
      for (const c of conns) c.socket.destroy();
      await Promise.all(conns.map((c) => c.closed));
      await new Promise((r) => setTimeout(r, 300));

      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const errors = Number(/^xrelay_turn_tcp_accept_errors_total (\d+)/m.exec(metrics)?.[1]);
      const open = Number(/^xrelay_turn_tcp_connections (\d+)/m.exec(metrics)?.[1]);
      console.log(`ulimit -n ${FD_LIMIT}: ${conns.length} of ${2 * FD_LIMIT} connects completed client side; relay counted ${errors} failed accepts, ${open} open after the flood left`);
      expect(Number.isInteger(errors), "xrelay_turn_tcp_accept_errors_total is exported").toBe(true);
      expect(open).toBe(0);
      const c = await tcpClient(tcpPort);
      expect(parse(await c.call(request(Method.binding))).cls).toBe(StunClass.success);
      await c.close();
      expect(exited).toBe(false);
    } finally {
      for (const c of conns) c.socket.destroy();
      if (!exited) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await gone;
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
