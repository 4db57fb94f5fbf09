/** Derives the core's options (ms, resolved addresses, fresh random keys) from the `turn` config section. */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
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
  const family = isIP(bindIp);
  if (family === 0) throw new TypeError(`turn.relayIp: "${bindIp}" is not an IP address (set turn.relayIp when host is a name)`);
  if (t.relayPortMin > t.relayPortMax) throw new TypeError('turn.relayPortMin must not exceed turn.relayPortMax');
  if ((t.relayPortMin === 0) !== (t.relayPortMax === 0)) throw new TypeError('turn.relayPortMin and turn.relayPortMax must both be 0 (ephemeral) or both set');
  return { bindIp, family: family as 4 | 6, portMin: t.relayPortMin, portMax: t.relayPortMax };
}

export function coreOptions(config: RelayConfig, binding: RelayBinding): TurnCoreOptions {
  const t = config.turn;
  const externalIp = t.externalIp !== '' ? t.externalIp : binding.bindIp;
  if (externalIp === '0.0.0.0' || externalIp === '::') {
    throw new TypeError('turn.externalIp: relay sockets bind a wildcard address; set turn.externalIp to the address clients reach');
  }
  if (isIP(externalIp) !== binding.family) throw new TypeError('turn.externalIp must be an IP of the same family as the relay address');
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
