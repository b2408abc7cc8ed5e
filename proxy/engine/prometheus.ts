// The engine's Prometheus registry: each metric a name, help, type and a function of its current samples, rendered in
// the text format (0.0.4) as prom-client's Registry renders it, byte for byte. The engine keeps its own series
// (stats.ts, counters.ts, h2/counters.ts) and needs no more than this; prom-client brought every engine its metric
// classes, a t-digest, a red-black tree and OpenTelemetry's API (about 2 MB of private memory, bench:memory).

export interface Sample {
  labels?: Readonly<Record<string, string | number>>;
  value: number;
  /** A histogram's part (`<name>_bucket`, `_sum`, `_count`); the metric's name otherwise. */
  metricName?: string;
}

export type MetricType = "counter" | "gauge" | "histogram";

interface Metric {
  help: string;
  type: MetricType;
  samples: () => Iterable<Sample>;
}

/** The content type of what metrics() renders. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const escape = (s: string): string => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function valueText(v: number): string {
  if (Number.isNaN(v)) return "Nan"; // sic: prom-client's spelling
  if (!Number.isFinite(v)) return v < 0 ? "-Inf" : "+Inf";
  return `${v}`;
}

function sampleLine(name: string, s: Sample): string {
  const labels = Object.entries(s.labels ?? {}).map(
    ([k, v]) => `${k}="${typeof v === "string" ? escape(v).replace(/"/g, '\\"') : v}"`,
  );
  return `${s.metricName ?? name}${labels.length ? `{${labels.join(",")}}` : ""} ${valueText(s.value)}`;
}

export class Registry {
  private readonly all = new Map<string, Metric>();

  has(name: string): boolean {
    return this.all.has(name);
  }

  /** A metric, by a name no other has. */
  register(name: string, help: string, type: MetricType, samples: () => Iterable<Sample>): void {
    if (this.all.has(name)) throw new Error(`A metric with the name ${name} has already been registered.`);
    this.all.set(name, { help, type, samples });
  }

  /** A metric's samples now (none when there is no such metric). */
  samples(name: string): Sample[] {
    return [...(this.all.get(name)?.samples() ?? [])];
  }

  /** Every metric, in the order registered: HELP, TYPE, then a line per sample. */
  metrics(): string {
    const blocks: string[] = [];
    for (const [raw, m] of this.all) {
      const name = escape(raw);
      const lines = [`# HELP ${name} ${escape(m.help)}`, `# TYPE ${name} ${m.type}`];
      for (const s of m.samples()) lines.push(sampleLine(name, s));
      blocks.push(lines.join("\n"));
    }
    return `${blocks.join("\n\n")}\n`;
  }
}
