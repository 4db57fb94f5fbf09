/** The report's Markdown summary (what a load-testing team pastes into a ticket). */
import type { Report } from './report.js';
import type { StormReport } from './envelope-storm.js';

const f = (v: number | undefined, d = 1): string => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
const n = (v: number): string => (Number.isNaN(v) ? '–' : String(v));
const pct = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : `${(100 * v).toFixed(1)}%`);

export function renderMarkdown(r: Report, charts: string[]): string {
  const m = r.media;
  const L: string[] = [];
  L.push(`# Load report: ${r.scenario.name}`, '', `${r.scenario.description}`, '');
  L.push(`- started ${r.startedAt}, measured ${f(r.scenario.durationMs / 1000, 0)} s, seed ${r.scenario.seed}`);
  L.push(`- relay: ${r.target.kind} at ${r.target.url}${r.target.pid !== undefined ? ` (pid ${r.target.pid})` : ''}${r.target.planes.length > 0 ? `, planes: ${r.target.planes.join(', ')}` : ''}; ${r.relay.note}`);
  L.push(`- clients: ${r.clients.joined}/${r.clients.participants} joined in ${r.clients.rooms} rooms, ${f(r.clients.joinsPerSec)} joins/s, ${r.clients.midRunJoins > 0 ? `${r.clients.midRunJoins} more during the run (${f(r.clients.midRunJoinsPerSec)} joins/s with as many leaves), ` : ''}join latency p50 ${f(r.clients.joinLatencyMs.p50)} ms p99 ${f(r.clients.joinLatencyMs.p99)} ms${r.clients.joinFailed > 0 ? `, ${r.clients.joinFailed} failed ${JSON.stringify(r.clients.joinErrors)}` : ''}`);
  for (const w of r.warnings) L.push('', `> **Warning:** ${w}`);
  L.push('', '## Media', '');
  L.push('| frames sent | expected deliveries | delivered | lost | loss | extra (churn edges) | duplicates | out of order | jitter | latency p50 / p90 / p99 / p99.9 / max |');
  L.push('|---|---|---|---|---|---|---|---|---|---|');
  L.push(`| ${m.framesSent} | ${m.expectedDeliveries} | ${m.delivered} | ${m.lost} | ${f(m.lossPct, 3)}% | ${m.extraDeliveries} | ${m.duplicates} | ${m.outOfOrder} | ${f(m.jitterMs, 2)} ms | ${f(m.latencyMs.p50)} / ${f(m.latencyMs.p90)} / ${f(m.latencyMs.p99)} / ${f(m.latencyMs.p999)} / ${f(m.latencyMs.max)} ms |`);
  L.push('', `Throughput: ${f(m.framesPerSec, 0)} frames/s sent, ${f(m.deliveriesPerSec, 0)} deliveries/s; media payload ${f(m.payloadSentKbps)} kbit/s sent, ${f(m.payloadDeliveredKbps)} kbit/s delivered. SDK: ${m.sdk.packetsSent} media records and ${m.sdk.dummiesSent} e2e dummies sent (${m.sdk.dummiesWithheld} withheld while e2e padding was suspended for room size, ${m.sdk.e2ePaddingSuspensions} suspensions), ${m.sdk.sendQueueDrops} send-queue drops, ${m.sdk.e2eRejected} e2e rejects, ${m.sdk.missedTicks} missed client ticks.`);
  L.push('', '| group | profile | participants | sent | delivered | lost | loss | jitter | e2e padding (members on / asked, dummies withheld, room limit) |', '|---|---|---|---|---|---|---|---|---|');
  for (const g of r.groups) {
    const e = g.e2ePadding;
    L.push(`| ${g.name} | ${g.profile} | ${g.participants} | ${g.framesSent} | ${g.delivered} | ${g.lost} | ${f(g.lossPct, 3)}% | ${f(g.jitterMs, 2)} ms | ${e.requested === 0 ? 'off' : `${e.active} / ${e.requested}, ${e.withheld} withheld, limit ${e.limit}`} |`);
  }
  if (r.series.list.length > 1) {
    L.push('', `Latency per ${r.series.by} (the charts' series):`, '', `| ${r.series.by} | deliveries | p50 | p99 | p99.9 | max |`, '|---|---|---|---|---|---|');
    for (const x of r.series.list) L.push(`| ${x.label} | ${x.latencyMs.n} | ${f(x.latencyMs.p50)} | ${f(x.latencyMs.p99)} | ${f(x.latencyMs.p999)} | ${f(x.latencyMs.max)} ms |`);
  }
  const worst = r.timeline.reduce<Report['timeline'][number] | undefined>((a, p) => (a === undefined || p.latencyMs.p99 > a.latencyMs.p99 ? p : a), undefined);
  if (worst !== undefined) L.push('', `Per second (report.json \`timeline\`): worst p99 ${f(worst.latencyMs.p99)} ms in the second ending at ${f(worst.t)} s; worst loss ${f(Math.max(...r.timeline.map((p) => p.lossPct)), 3)}%.`);
  L.push('', '## Relay', '');
  const c = r.relay.counters;
  L.push(`CPU ${f(r.relay.cpuPct)}% of one core (${f(r.relay.cpuSeconds, 2)} s), RSS ${f(r.relay.rssMB)} MB (max ${f(r.relay.rssMaxMB)} MB)${r.relay.cpuPct === undefined ? ' (not exposed by this relay)' : ''}.`);
  if (c !== undefined) {
    L.push(`Over the measured phase: cells in ${n(c.cellsIn)}, out ${n(c.cellsOut)} (${pct(r.relay.dummyShare)} dummy), records in ${n(c.recordsIn)}, forwarded ${n(c.recordsOut)}, queue drops ${n(c.queueDrops)} + stale ${n(c.staleDrops)}, missed pacer ticks ${n(c.missedTicks)}, dropped cells ${n(c.drops)}.`);
    if (c.rtcForwarded !== undefined && c.rtcForwarded > 0) {
      const perPacket = r.relay.cpuSeconds !== undefined ? `, ${f((1e6 * r.relay.cpuSeconds) / c.rtcForwarded)} µs of relay CPU per forwarded packet (the whole relay process${r.target.kind === 'in-process' ? ', clients included' : ''})` : '';
      L.push(`WebRTC edge: ${n(c.rtcForwarded)} RTP packets forwarded (${f(c.rtcForwarded / (r.scenario.durationMs / 1000), 0)}/s, one per receiver), ${n(c.rtcDrops ?? NaN)} dropped${perPacket}.`);
    }
  }
  L.push('', '## What an observer of the wire saw', '', '| group | uplink cell sizes | downlink cell sizes | up cells/s | down cells/s |', '|---|---|---|---|---|');
  for (const w of r.wire) {
    if (w.upSizes.length === 0 && w.downSizes.length === 0) L.push(`| ${w.group} | not observed | | | |`);
    else L.push(`| ${w.group} | ${w.upSizes.join(', ')} B | ${w.downSizes.join(', ')} B | ${f(w.upCellsPerSec)} | ${f(w.downCellsPerSec)} |`);
  }
  for (const w of r.wire) {
    if (w.upTop === undefined || w.downTop === undefined) continue;
    L.push('', `${w.group} (WebRTC): the datagrams are the session's SRTP audio, RTCP, SCTP and STUN; the most common size is ${w.upTop.size} B for ${pct(w.upTop.share)} of the uplink and ${w.downTop.size} B for ${pct(w.downTop.share)} of the downlink (the sealed audio packets).`);
  }
  if (r.leak !== undefined) {
    const k = r.leak;
    L.push('', '## Metadata-leak meter', '', `Talk/silence classifier per ${k.windowMs} ms window, trained on the first half of each call and scored on the second (balanced accuracy, chance = 50%).`, '');
    L.push('| view | participants | test windows | balanced accuracy (95% CI) | goal | met | classifier picked |', '|---|---|---|---|---|---|---|');
    for (const v of k.views) L.push(`| ${v.view} | ${v.participants} | ${v.windows.test} | **${pct(v.balancedAccuracy)}** ± ${f(100 * v.ci95)} | ${v.goal} | ${v.meetsGoal ? 'yes' : 'NO'} | ${v.classifier} |`);
    const b = k.bandwidth;
    L.push('', `Bandwidth cost of padding (per participant, on the wire): uplink ${f(b.paddedUpKbps)} kbit/s padded vs ${f(b.unpaddedUpKbps)} unpadded (×${f(b.upCost, 2)}); downlink ${f(b.paddedDownKbps)} vs ${f(b.unpaddedDownKbps)} (×${f(b.downCost, 2)}).`);
    for (const n of k.notes) L.push('', `> ${n}`);
  }
  const st = r.envelopes as StormReport | { skipped: string } | undefined;
  if (st !== undefined && 'posts' in st) {
    L.push('', '## Envelope storm', '', `autocannon: ${st.connections} connections posting ${st.bucketBytes}-byte envelopes to ${st.mailboxes} mailboxes for ${st.durationSec} s; one authenticated reader per mailbox acknowledging.`, '');
    L.push('| posts sent | accepted (202) | refused | errors | posts/s | post latency p50 / p99 / max | read | reads/s | post→read p50 / p99 / max | unread |', '|---|---|---|---|---|---|---|---|---|---|');
    L.push(`| ${st.posts.sent} | ${st.posts.accepted} | ${JSON.stringify(st.posts.refusedByStatus)} | ${st.posts.errors} | ${f(st.posts.perSec, 0)} | ${f(st.posts.latencyMs.p50)} / ${f(st.posts.latencyMs.p99)} / ${f(st.posts.latencyMs.max)} ms | ${st.reads.received} | ${f(st.reads.perSec, 0)} | ${f(st.reads.latencyMs.p50)} / ${f(st.reads.latencyMs.p99)} / ${f(st.reads.latencyMs.max)} ms | ${st.unread} |`);
  } else if (st !== undefined) L.push('', '## Envelope storm', '', JSON.stringify(st));
  L.push('', '## Consistency checks', '');
  for (const ch of r.consistency) L.push(`- ${ch.ok ? 'ok' : '**FAILED**'}: ${ch.name} (${ch.detail})`);
  if (charts.length > 0) {
    L.push('', '## Charts', '');
    for (const c of charts) L.push(`![${c}](${c})`, '');
  }
  return L.join('\n') + '\n';
}
