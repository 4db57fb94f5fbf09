/**
 * Which external sink (a WebSocket JS owns) each session uses, by the core's session table index:
 * the one path table both data planes share. The TypeScript plane's CellPaths builds on it and
 * adds the UDP half; the native plane uses it alone, because its UDP paths live in the addon's
 * thread (native/src/cell_core.cc SetUdpPath/SetExternalPath). Counted here, once for both planes:
 *
 *  - a roam between two different external sinks (a UDP <-> external move is counted by whoever
 *    owns the UDP half: CellPaths, or the native core);
 *  - a cell due for a session with no sink (unroutable).
 *
 * A sink is set only after the core has accepted a cell from it (authenticated and fresh).
 */
import type { ExternalSink } from './data-plane.js';

export class ExternalSinks {
  private readonly byIndex: Array<ExternalSink | undefined> = [];
  /** Sessions that moved from one external sink to another. */
  roams = 0;
  /** Cells due for a session with no path. */
  unroutable = 0;

  /** The sink session `index` uses, or undefined. */
  sinkOf(index: number): ExternalSink | undefined {
    return this.byIndex[index];
  }

  /** An accepted cell came from `sink` for session `index`; true when that is a new sink for it. */
  use(index: number, sink: ExternalSink): boolean {
    const prev = this.byIndex[index];
    if (prev === sink) return false;
    if (prev !== undefined) this.roams++;
    while (this.byIndex.length < index) this.byIndex.push(undefined); // keep the array dense (no holes)
    this.byIndex[index] = sink;
    return true;
  }

  /** Hands `cell` to session `index`'s sink; counts it unroutable when there is none. */
  send(index: number, cell: Buffer): void {
    const sink = this.byIndex[index];
    if (sink === undefined) this.unroutable++;
    else sink.send(cell);
  }

  /** Session `index` ended, was reused, or moved to UDP: it has no sink until its next accepted cell. */
  forget(index: number): void {
    if (index < this.byIndex.length) this.byIndex[index] = undefined;
  }

  /** `sink` closed: forgets it for every session using it and reports each such index to `onForgotten`. */
  forgetSink(sink: ExternalSink, onForgotten?: (index: number) => void): void {
    for (let i = 0; i < this.byIndex.length; i++) {
      if (this.byIndex[i] !== sink) continue;
      this.byIndex[i] = undefined;
      onForgotten?.(i);
    }
  }
}
