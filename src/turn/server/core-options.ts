/** Derives the core's options (ms, resolved addresses, fresh random keys) from the `turn` config section. */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { loadConfig } from '../../config/load.js';
import type { RelayConfig } from '../../config/schema.js';
import type { TurnCoreOptions } from '../core/options.js';

export interface RelayBinding {
  /** Address relay sockets bind to. */
  readonly bindIp: string;
  readonly family: 4 | 6;
  readonly portMin: number;
  readonly portMax: number;
}

export function relayBinding(config: RelayConfig): RelayBinding {
  const t = config.turn;
  const bindIp = t.relayIp !== '' ? t.relayIp : config.host;
  // loadConfig has checked the addresses and the port range (config/load.ts, crossCheckTurn).
  const family = isIP(bindIp);
  return { bindIp, family: family as 4 | 6, portMin: t.relayPortMin, portMax: t.relayPortMax };
}

export function coreOptions(config: RelayConfig, binding: RelayBinding): TurnCoreOptions {
  const t = config.turn;
  const externalIp = t.externalIp !== '' ? t.externalIp : binding.bindIp;
  return {
    realm: t.realm,
    authSecret: t.authSecret,
    staticUsers: t.staticUsers,
    relayFamily: binding.family,
    externalIp,
    maxAllocations: t.maxAllocations,
    maxAllocationsPerUser: t.maxAllocationsPerUser,
    maxPermissionsPerAllocation: t.maxPermissionsPerAllocation,
    maxChannelsPerAllocation: t.maxChannelsPerAllocation,
    allocationLifetimeMs: t.allocationLifetimeSec * 1000,
    maxAllocationLifetimeMs: Math.max(t.maxAllocationLifetimeSec, t.allocationLifetimeSec) * 1000,
    permissionLifetimeMs: t.permissionLifetimeSec * 1000,
    channelLifetimeMs: t.channelLifetimeSec * 1000,
    nonceLifetimeMs: t.nonceLifetimeSec * 1000,
    peerAllowList: t.peerAllowList,
    peerDenyList: t.peerDenyList,
    unauthRatePerSec: t.unauthRatePerSec,
    unauthBurst: t.unauthBurst,
    software: t.software,
    nonceKey: randomBytes(32),
    tidPrefix: randomBytes(8),
  };
}

/**
 * The core's options for the config schema's defaults (the one table of TURN defaults), on
 * loopback with fixed keys: for tests and tools that drive the core without a relay.
 */
export function defaultCoreOptions(overrides: Partial<TurnCoreOptions> = {}): TurnCoreOptions {
  const config = loadConfig({ file: { host: '127.0.0.1' } });
  return { ...coreOptions(config, relayBinding(config)), nonceKey: Buffer.alloc(32, 1), tidPrefix: Buffer.alloc(8, 2), ...overrides };
}
