/**
 * A minimal Prometheus text-format registry (exposition format 0.0.4).
 * Labels are a closed, low-cardinality set chosen by the caller (an error code, a plane):
 * never a mailbox, session, room or address, which would turn /metrics into a contact log.
 */
type LabelValues = string;

abstract class Metric {
  protected readonly values = new Map<LabelValues, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    readonly labelName?: string,
  ) {}

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    if (this.values.size === 0 && this.labelName === undefined) out.push(`${this.name} 0`);
    for (const [label, value] of this.values) {
      const suffix = this.labelName === undefined ? '' : `{${this.labelName}="${label}"}`;
      out.push(`${this.name}${suffix} ${value}`);
    }
  }

  get(label: LabelValues = ''): number {
    return this.values.get(label) ?? 0;
  }
}

export class Counter extends Metric {
  private followed: Map<LabelValues, number> | undefined;

  inc(by = 1, label: LabelValues = ''): void {
    this.values.set(label, (this.values.get(label) ?? 0) + by);
  }

  /**
   * Follows a cumulative total kept elsewhere (a core's or a native thread's counter), read at
   * scrape time: adds what it grew by since the last call for this label; a total that went down
   * (a restarted source) adds nothing, and later growth counts from there.
   */
  follow(total: number, label: LabelValues = ''): void {
    this.followed ??= new Map();
    const delta = total - (this.followed.get(label) ?? 0);
    if (delta > 0) this.inc(delta, label);
    this.followed.set(label, total);
  }
}

export class Gauge extends Metric {
  set(value: number, label: LabelValues = ''): void {
    this.values.set(label, value);
  }
  add(by: number, label: LabelValues = ''): void {
    this.values.set(label, (this.values.get(label) ?? 0) + by);
  }
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]!) this.counts[i]!++;
    }
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (let i = 0; i < this.buckets.length; i++) {
      out.push(`${this.name}_bucket{le="${this.buckets[i]}"} ${this.counts[i]}`);
    }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    out.push(`${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
  }
}

type Renderable = { render(out: string[]): void; name: string };

export class MetricsRegistry {
  private readonly metrics = new Map<string, Renderable>();
  private readonly collectors: Array<() => void> = [];

  counter(name: string, help: string, labelName?: string): Counter {
    return this.register(new Counter(name, help, 'counter', labelName));
  }

  gauge(name: string, help: string, labelName?: string): Gauge {
    return this.register(new Gauge(name, help, 'gauge', labelName));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
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
