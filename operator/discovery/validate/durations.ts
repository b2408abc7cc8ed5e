// Istio's duration rules (pkg/config/validation/agent ValidateDuration, and the CRDs' `duration(self) >=
// duration('1ms')`): at least 1ms, to millisecond precision, and no longer than Go's time.Duration holds (istiod
// parses with time.ParseDuration, which refuses more than 2562047h47m16.854775807s). Counted in exact nanoseconds,
// so "1.0000001s" is not rounded into a valid value. Pure.

const NANOS: Record<string, bigint> = {
  h: 3_600_000_000_000n,
  m: 60_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  µs: 1_000n,
  ns: 1n,
};
const MS = 1_000_000n;
/** Go's time.Duration: an int64 of nanoseconds. */
const GO_MAX = 2n ** 63n - 1n;

/**
 * How a field's duration is checked: `istio` ValidateDuration (≥1ms, ms precision); `orZero` the same, but "0s"
 * turns the feature off (tcp idleTimeout); `seconds` ValidateDuration and whole seconds (CORS maxAge); `any` only
 * that it fits (a cookie ttl, where "0s" means a session cookie).
 */
export type DurationRule = "istio" | "orZero" | "seconds" | "any";

/** Nanoseconds in a Go-style duration ("1h30m", "1.5s", "250ms"), exactly; undefined when it doesn't parse. */
export function durationNanos(text: string): bigint | undefined {
  const s = text.trim();
  if (!s) return undefined;
  const re = /(\d+)(?:\.(\d+))?(h|ms|m|s|us|µs|ns)/y;
  let total = 0n;
  let m: RegExpExecArray | null;
  while (re.lastIndex < s.length && (m = re.exec(s))) {
    const unit = NANOS[m[3] as string] as bigint;
    const frac = m[2] ?? "";
    total += BigInt(m[1] as string) * unit + (BigInt(frac || "0") * unit) / 10n ** BigInt(frac.length);
    // Go counts the fraction's nanoseconds exactly too; a remainder below 1ns is dropped, as Go drops it.
  }
  return re.lastIndex === s.length && re.lastIndex > 0 ? total : undefined;
}

/** What is wrong with `value` as a duration under `rule`, as Istio's webhook words it; undefined when nothing. */
export function durationProblem(value: unknown, rule: DurationRule): string | undefined {
  const nanos = typeof value === "string" ? durationNanos(value) : undefined;
  if (nanos === undefined) return `"${String(value)}" is not a duration (like "1.5s" or "300ms")`;
  if (nanos > GO_MAX) return `"${String(value)}" is too long: a duration must be at most 2562047h47m16.854775807s`;
  if (rule === "any" || (rule === "orZero" && nanos === 0n)) return undefined;
  if (nanos < MS) return `duration must be at least 1ms, got "${String(value)}"`;
  if (nanos % MS !== 0n) return `only durations to ms precision are supported, got "${String(value)}"`;
  if (rule === "seconds" && nanos % 1_000_000_000n !== 0n)
    return `duration is accurate only to seconds precision, got "${String(value)}"`;
  return undefined;
}
