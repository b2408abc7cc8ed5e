// Prometheus text exposition, read for the service graph: only the series it asks for are kept, and everything is
// bounded (the text comes from a proxy, which may be hostile). Pure.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** At most this many samples are kept from one scrape; the rest are dropped and counted. */
export const MAX_SAMPLES = 20_000;
const MAX_LABEL = 512;

export interface Parsed {
  samples: Sample[];
  /** Lines that did not parse, or samples over the limit. */
  dropped: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** The samples of the named metrics (histograms: name_bucket, name_sum, name_count are asked for by those names). */
export function parsePrometheus(text: string, names: ReadonlySet<string>): Parsed {
  const samples: Sample[] = [];
  let dropped = 0;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const name = NAME.exec(line)?.[0];
    if (!name || !names.has(name)) continue;
    const s = parseLine(line, name);
    if (!s || samples.length >= MAX_SAMPLES) dropped++;
    else samples.push(s);
  }
  return { samples, dropped };
}

function parseLine(line: string, name: string): Sample | undefined {
  let i = name.length;
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const key = LABEL_NAME.exec(line.slice(i))?.[0];
      if (!key) return undefined;
      i += key.length;
      if (line[i] !== "=" || line[i + 1] !== '"') return undefined;
      i += 2;
      let value = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        i++;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[i++];
          value += e === "n" ? "\n" : (e ?? "");
        } else value += c;
      }
      if (value.length > MAX_LABEL) return undefined;
      labels[key] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/)[0] ?? "";
  const value = rest === "+Inf" ? Infinity : rest === "-Inf" ? -Infinity : Number(rest);
  if (rest === "" || Number.isNaN(value)) return undefined;
  return { name, labels, value };
}
