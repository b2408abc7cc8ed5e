// Prometheus text from several engines as one: counters and histograms (their _bucket, _sum and _count series) are
// added up series by series, gauges come from the first text only. This is how the agent carries the old engine's
// totals across a hot restart, as Envoy's hot restart carries its stats: a scrape never sees a counter go back.
// The texts of one epoch's workers merge with their gauges added up too (worker-stats.ts says which, and how). Pure.
import { gaugeMerge } from "./worker-stats.js";

type Kind = "counter" | "histogram" | "summary" | "gauge" | "untyped";

interface Family {
  help?: string;
  kind: Kind;
  /** Series in first-seen order: `name{labels}` → value. */
  series: Map<string, number>;
}

const SUFFIXES = ["_bucket", "_sum", "_count", "_total"];

function familyOf(families: Map<string, Family>, sample: string): string | undefined {
  if (families.has(sample)) return sample;
  for (const s of SUFFIXES)
    if (sample.endsWith(s) && families.has(sample.slice(0, -s.length))) return sample.slice(0, -s.length);
  return undefined;
}

function parse(text: string, into: Map<string, Family>, first: boolean, workers: boolean): void {
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue;
      const [, what, name = "", rest = ""] = m;
      let f = into.get(name);
      if (!f) into.set(name, (f = { kind: "untyped", series: new Map() }));
      if (what === "HELP") f.help ??= rest;
      else if (f.kind === "untyped")
        f.kind = (["counter", "histogram", "summary", "gauge"].includes(rest) ? rest : "untyped") as Kind;
      continue;
    }
    // `name{labels} value [timestamp]`: the value follows the labels (whose values may hold spaces).
    const close = line.lastIndexOf("}");
    const valueStart = close >= 0 ? close + 1 : line.indexOf(" ");
    const key = line.slice(0, valueStart).trim();
    const value = Number(line.slice(valueStart).trim().split(" ")[0]);
    if (!Number.isFinite(value)) continue;
    const sample = key.includes("{") ? key.slice(0, key.indexOf("{")) : key;
    const name = familyOf(into, sample) ?? sample;
    let f = into.get(name);
    if (!f) into.set(name, (f = { kind: "untyped", series: new Map() }));
    const additive = f.kind === "counter" || f.kind === "histogram" || f.kind === "summary";
    if (f.kind === "summary" && !sample.endsWith("_sum") && !sample.endsWith("_count")) {
      if (first) f.series.set(key, value); // quantiles don't add up: the current engine's
      continue;
    }
    const had = f.series.get(key);
    if (additive) f.series.set(key, (had ?? 0) + value);
    else if (first || (workers && had === undefined)) f.series.set(key, value);
    else if (workers && had !== undefined) {
      const rule = gaugeMerge(sample);
      f.series.set(key, rule === "sum" ? had + value : rule === "max" ? Math.max(had, value) : Math.min(had, value));
    }
  }
}

/**
 * Across epochs (the default): texts[0] is the current engines' (its gauges win); the rest are earlier engines'
 * totals. `workers`: the texts are one epoch's workers, whose gauges all count.
 */
export function mergePrometheus(texts: readonly string[], workers = false): string {
  const families = new Map<string, Family>();
  texts.forEach((t, i) => parse(t, families, i === 0, workers));
  const out: string[] = [];
  for (const [name, f] of families) {
    if (f.series.size === 0 && f.kind === "gauge") continue;
    if (f.help !== undefined) out.push(`# HELP ${name} ${f.help}`);
    if (f.kind !== "untyped") out.push(`# TYPE ${name} ${f.kind}`);
    for (const [key, value] of f.series) out.push(`${key} ${value}`);
  }
  return out.length ? out.join("\n") + "\n" : "";
}
