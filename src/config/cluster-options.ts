/**
 * The `cluster` section: how a node takes part in room placement when several relays share one Redis
 * (`store: redis`, media enabled; README "Running a cluster"). Each node registers itself under a key
 * with a TTL it renews, and holds each of its rooms by a lease it renews while the room has members.
 */
import { field } from './fields.js';

export const clusterOptions = {
  publicUrl: field.string(
    'Cluster mode: base URL clients reach this very node at (`https://node-a.example.com`, a path prefix is kept), registered in Redis and sent to a client whose join another node receives for a room this node holds (409 room_elsewhere). Not the load balancer\'s address: it must name this node. Empty: the URL the relay listens on (`http(s)://host:httpPort`), right only when clients reach the node there (refused at start on a wildcard `host` in cluster mode).',
    '',
  ),
  leaseTtlMs: field.int(
    'Cluster mode: lifetime of this node\'s registration and of each room lease in Redis. A node that dies stops renewing: its registration and rooms lapse within this, and rejoining clients are placed on another node. The failover bound of a call is about this plus the SDK\'s silence window plus one join.',
    6_000,
    { min: 300, max: 600_000 },
  ),
  leaseRenewMs: field.int(
    'Cluster mode: how often a node renews its registration (with its load and draining flag) and the leases of its rooms that have members, and re-reads the other nodes\' registrations. At most half of `cluster.leaseTtlMs`, so one lost renewal does not lose a lease.',
    2_000,
    { min: 100, max: 300_000 },
  ),
} as const;
