// Istio durations are written the Go way ("30ms", "1m", "1h30m", "1.5s"); Envoy's JSON wants seconds ("0.03s").

const UNITS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };

/** Seconds in a Go-style duration, or undefined when it doesn't parse. */
export function durationSeconds(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const s = text.trim();
  if (!s) return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/y;
  let total = 0;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < s.length && (m = re.exec(s))) total += Number(m[1]) * (UNITS[m[2] as string] ?? 0);
  return re.lastIndex === s.length && re.lastIndex > 0 ? total : undefined;
}

/** "1m" → "60s", "30ms" → "0.03s"; a duration that doesn't parse is passed on for the encoder to reject. */
export function protoDuration(text: string): string;
export function protoDuration(text: string | undefined): string | undefined;
export function protoDuration(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const seconds = durationSeconds(text);
  if (seconds === undefined) return text;
  const nanos = Math.round(seconds * 1e9);
  const whole = Math.floor(nanos / 1e9);
  const frac = String(nanos % 1e9)
    .padStart(9, "0")
    .replace(/0+$/, "");
  return `${whole}${frac ? `.${frac}` : ""}s`;
}
