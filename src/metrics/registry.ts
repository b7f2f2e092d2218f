/**
 * A small metrics registry in the Prometheus data model: counters, gauges and
 * histograms with fixed buckets, each a family of series keyed by label values,
 * rendered in the Prometheus text exposition format (version 0.0.4).
 *
 * Hot-path cost: callers resolve a series once (`family.labels(...)`) and keep
 * it; an update is then an addition on a number (a histogram also finds its
 * bucket). Values read only at scrape time are supplied by collectors instead
 * (`registry.onCollect`), which cost nothing between scrapes.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class Counter {
  value = 0;
  /** Adds `n` (never negative: a counter only grows). */
  inc(n = 1): void {
    if (n > 0) this.value += n;
  }
}

export class Gauge {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  add(n: number): void {
    this.value += n;
  }
}

export class Histogram {
  /** Cumulative on render; stored per bucket (the last one is +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    this.observeN(v, 1);
  }
  /** `n` observations of the same value (a batch whose records share a size or a latency). */
  observeN(v: number, n: number): void {
    if (n <= 0 || Number.isNaN(v)) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + n;
    this.sum += v * n;
    this.count += n;
  }
}

type Series = Counter | Gauge | Histogram;

export class Family<T extends Series> {
  private readonly series = new Map<string, { values: readonly string[]; s: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    private readonly make: () => T,
  ) {}

  /** The series for these label values (in `labelNames` order), created on first use. */
  labels(...values: string[]): T {
    if (values.length !== this.labelNames.length) {
      throw new Error(`metric ${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join('\u0000');
    let e = this.series.get(key);
    if (e === undefined) this.series.set(key, (e = { values, s: this.make() }));
    return e.s;
  }

  /** Drops every series whose label `name` has `value` (a deleted pipeline). */
  removeWhere(name: string, value: string): void {
    const i = this.labelNames.indexOf(name);
    if (i < 0) return;
    for (const [k, e] of this.series) if (e.values[i] === value) this.series.delete(k);
  }

  /** Drops every series (a gauge family recomputed at each scrape). */
  clear(): void {
    this.series.clear();
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const { values, s } of this.series.values()) {
      if (s instanceof Histogram) {
        let cum = 0;
        for (let i = 0; i <= s.bounds.length; i++) {
          cum += s.counts[i] as number;
          const le = i < s.bounds.length ? formatNumber(s.bounds[i] as number) : '+Inf';
          out.push(`${this.name}_bucket${labelText(this.labelNames, values, le)} ${formatNumber(cum)}`);
        }
        out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatNumber(s.sum)}`);
        out.push(`${this.name}_count${labelText(this.labelNames, values)} ${formatNumber(s.count)}`);
      } else {
        out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(s.value)}`);
      }
    }
  }
}

export class Registry {
  private readonly families = new Map<string, Family<Series>>();
  private readonly collectors: Array<() => void> = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Family<Counter> {
    return this.add(new Family(name, help, 'counter', labelNames, () => new Counter()));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Family<Gauge> {
    return this.add(new Family(name, help, 'gauge', labelNames, () => new Gauge()));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Family<Histogram> {
    for (let i = 1; i < buckets.length; i++) {
      if ((buckets[i] as number) <= (buckets[i - 1] as number)) throw new Error(`metric ${name}: buckets must grow`);
    }
    if (labelNames.includes('le')) throw new Error(`metric ${name}: "le" is reserved for histogram buckets`);
    const bounds = [...buckets];
    return this.add(new Family(name, help, 'histogram', labelNames, () => new Histogram(bounds)));
  }

  /** Runs before every render: sets gauges whose values are read, not counted. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** Every family in the text exposition format. */
  render(): string {
    for (const c of this.collectors) c();
    const out: string[] = [];
    for (const f of this.families.values()) f.render(out);
    return `${out.join('\n')}\n`;
  }

  /** Drops the series of a pipeline from every family labelled by pipeline. */
  removeWhere(label: string, value: string): void {
    for (const f of this.families.values()) f.removeWhere(label, value);
  }

  private add<T extends Series>(f: Family<T>): Family<T> {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${f.name}`);
    for (const l of f.labelNames) if (!LABEL.test(l) || l.startsWith('__')) throw new Error(`invalid label ${l}`);
    if (this.families.has(f.name)) throw new Error(`metric ${f.name} is registered twice`);
    this.families.set(f.name, f);
    return f;
  }
}

/** Content type of {@link Registry.render}. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function labelText(names: readonly string[], values: readonly string[], le?: string): string {
  if (names.length === 0 && le === undefined) return '';
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (le !== undefined) parts.push(`le="${le}"`);
  return `{${parts.join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
