/**
 * The cell bridge's /metrics (mixed rooms). Closed label sets only: never a room, member or slot.
 * The bridge bumps plain integers (CellBridgeStats); the registry reads them at scrape time.
 */
import type { MetricsRegistry } from '../observability/metrics.js';
import type { CellBridge } from './cell-bridge.js';

export const BRIDGE_DROP_REASONS = ['oversize', 'refused', 'bad_cell', 'unknown_slot', 'no_slot'] as const;

export function registerBridgeMetrics(metrics: MetricsRegistry, bridge: CellBridge): void {
  const records = metrics.counter('xrelay_rtc_bridge_records_total', 'Mixed rooms: end-to-end records the cell bridge passed on, by direction: `to_rtc` (a cell member\'s record into a WebRTC member\'s receive slot, one per receiver), `to_cells` (a WebRTC member\'s audio frame into the cell room, once).', 'direction');
  const dropped = metrics.counter('xrelay_rtc_bridge_dropped_total', 'Mixed rooms: records the cell bridge did not pass on, by reason: `oversize` (a WebRTC frame larger than an up cell\'s record room), `refused` (the data plane refused a bridge cell), `bad_cell` (a down cell that did not open), `unknown_slot` (a record from a cell slot not in the roster yet), `no_slot` (the WebRTC member has no receive slot for that cell member, or its transport is not up: the latter also counts in xrelay_rtc_dropped_total{reason="not_connected"}).', 'reason');
  const unheard = metrics.counter('xrelay_rtc_bridge_unheard_total', 'Mixed rooms: WebRTC audio frames the cell bridge did not put into the cell room because no cell member was in it (WebRTC members hear each other through the edge).');
  const members = metrics.gauge('xrelay_rtc_bridge_members', 'Mixed rooms: WebRTC members of audio rooms the cell bridge holds a cell session for.');
  records.inc(0, 'to_rtc');
  records.inc(0, 'to_cells');
  for (const r of BRIDGE_DROP_REASONS) dropped.inc(0, r);
  metrics.onCollect(() => {
    const s = bridge.stats;
    records.follow(s.toRtc, 'to_rtc');
    records.follow(s.toCells, 'to_cells');
    unheard.follow(s.unheard);
    const by: Record<(typeof BRIDGE_DROP_REASONS)[number], number> = { oversize: s.oversize, refused: s.refused, bad_cell: s.badCell, unknown_slot: s.unknownSlot, no_slot: s.noSlot };
    for (const r of BRIDGE_DROP_REASONS) dropped.follow(by[r], r);
    members.set(bridge.memberCount);
  });
}
