/**
 * A small Prometheus registry, text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): counters, gauges and histograms,
 * each with zero or more labels; HELP text and label values escaped as the format requires.
 *
 * Why not prom-client: every series here is fed by code we own (sans-IO cores, native threads read
 * at scrape time through `Counter.follow`), the label sets are closed and tiny, and scraping stays
 * one synchronous pass with no promise per metric. prom-client would bring its own registry model
 * (async collect, per-metric label validation on every inc), ~30 default series we do not want
 * (per-GC-kind histograms, active-handle counts per type) and a dependency for ~200 lines. What it
 * gets right we keep: its names for the standard process and Node.js metrics
 * (process-metrics.ts), escaping, `_bucket{le}`/`_sum`/`_count`, name checks at registration;
 * and a test runs `promtool check metrics` on a real relay's /metrics.
 *
 * Labels are a closed, low-cardinality set chosen by the caller (an error code, a route, a status):
 * never a mailbox, session, room or address, which would turn /metrics into a contact log.
 */

/** One label value, or one per label name (in order) for a metric with several labels. */
export type LabelValues = string | readonly string[];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SEP = '\u0000';

function keyOf(label: LabelValues): string {
  return typeof label === 'string' ? label : label.join(SEP);
}

/** HELP text: backslash and newline escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and newline escaped. */
function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value or bucket bound as the format spells it (`+Inf`, `-Inf`, `NaN`). */
function formatNumber(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  for (const l of labelNames) {
    if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(l)} on ${name}`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new Error(`duplicate label name on ${name}`);
}

/** `{a="x",b="y"}` for a series key, plus any extra pairs (a histogram's `le`); '' for none. */
function labelText(names: readonly string[], key: string, extra = ''): string {
  if (names.length === 0) return extra === '' ? '' : `{${extra}}`;
  const values = names.length === 1 ? [key] : key.split(SEP);
  const pairs = names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra !== '') pairs.push(extra);
  return `{${pairs.join(',')}}`;
}

function header(out: string[], name: string, help: string, type: string): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
}

abstract class Metric {
  protected readonly values = new Map<string, number>();
  readonly labelNames: readonly string[];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    labelNames: string | readonly string[] = [],
  ) {
    this.labelNames = typeof labelNames === 'string' ? [labelNames] : labelNames;
    checkNames(name, this.labelNames);
  }

  render(out: string[]): void {
    header(out, this.name, this.help, this.type);
    if (this.values.size === 0 && this.labelNames.length === 0) out.push(`${this.name} 0`);
    for (const [key, value] of this.values) {
      out.push(`${this.name}${labelText(this.labelNames, key)} ${formatNumber(value)}`);
    }
  }

  get(label: LabelValues = ''): number {
    return this.values.get(keyOf(label)) ?? 0;
  }
}

export class Counter extends Metric {
  private followed: Map<string, number> | undefined;

  inc(by = 1, label: LabelValues = ''): void {
    const key = keyOf(label);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /**
   * Follows a cumulative total kept elsewhere (a core's or a native thread's counter), read at
   * scrape time: adds what it grew by since the last call for this label; a total that went down
   * (a restarted source) adds nothing, and later growth counts from there.
   */
  follow(total: number, label: LabelValues = ''): void {
    this.followed ??= new Map();
    const key = keyOf(label);
    const delta = total - (this.followed.get(key) ?? 0);
    if (delta > 0) this.inc(delta, key);
    this.followed.set(key, total);
  }
}

export class Gauge extends Metric {
  set(value: number, label: LabelValues = ''): void {
    this.values.set(keyOf(label), value);
  }
  add(by: number, label: LabelValues = ''): void {
    const key = keyOf(label);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

interface HistogramSeries {
  /** counts[i]: observations in (buckets[i-1], buckets[i]]; the last slot is (last bound, +Inf). */
  counts: number[];
  sum: number;
  count: number;
}

/** Cumulative buckets at render (`_bucket{le}` ... `le="+Inf"` equals `_count`), then `_sum` and `_count`. */
export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();
  readonly labelNames: readonly string[];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    labelNames: string | readonly string[] = [],
  ) {
    this.labelNames = typeof labelNames === 'string' ? [labelNames] : labelNames;
    checkNames(name, this.labelNames);
    if (this.labelNames.includes('le')) throw new Error(`${name}: "le" is reserved for histogram buckets`);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new Error(`${name}: buckets must be finite and strictly increasing`);
    }
  }

  observe(value: number, label: LabelValues = ''): void {
    const key = keyOf(label);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  /** Observations so far for a series (tests, and readers in-process). */
  count(label: LabelValues = ''): number {
    return this.series.get(keyOf(label))?.count ?? 0;
  }

  render(out: string[]): void {
    header(out, this.name, this.help, 'histogram');
    if (this.series.size === 0 && this.labelNames.length === 0) {
      this.renderSeries(out, '', { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 });
    }
    for (const [key, s] of this.series) this.renderSeries(out, key, s);
  }

  private renderSeries(out: string[], key: string, s: HistogramSeries): void {
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += s.counts[i]!;
      out.push(`${this.name}_bucket${labelText(this.labelNames, key, `le="${formatNumber(this.buckets[i]!)}"`)} ${cumulative}`);
    }
    out.push(`${this.name}_bucket${labelText(this.labelNames, key, 'le="+Inf"')} ${s.count}`);
    const labels = labelText(this.labelNames, key);
    out.push(`${this.name}_sum${labels} ${formatNumber(s.sum)}`, `${this.name}_count${labels} ${s.count}`);
  }
}

type Renderable = { render(out: string[]): void; name: string };

export class MetricsRegistry {
  private readonly metrics = new Map<string, Renderable>();
  private readonly collectors: Array<() => void> = [];

  /** `labelNames`: one name, or several (then `inc(by, [v1, v2])` in the same order). */
  counter(name: string, help: string, labelNames?: string | readonly string[]): Counter {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    return this.register(new Counter(name, help, 'counter', labelNames));
  }

  gauge(name: string, help: string, labelNames?: string | readonly string[]): Gauge {
    return this.register(new Gauge(name, help, 'gauge', labelNames));
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames?: string | readonly string[]): Histogram {
    return this.register(new Histogram(name, help, buckets, labelNames));
  }

  /** Runs before each render: for gauges read from elsewhere (native stats, queue depths). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  render(): string {
    for (const fn of this.collectors) fn();
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.join('\n') + '\n';
  }

  private register<M extends Renderable>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}
