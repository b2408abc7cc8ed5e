// The one regex engine for every pattern that comes from config: RE2 semantics in linear time (re2js, a pure-JS port
// of RE2/Go regexp; hack/bench/regex.ts measures it and proxy/README.md says why it was chosen). The engine compiles
// route, header, query and CORS matchers and regex rewrites with it, and discovery's validation webhook accepts a
// pattern exactly when this module compiles it, so what the webhook lets through is what the proxy can run. Pure.
import { RE2JS } from "re2js";

// Said plainly before RE2's own parse error, which names only the construct: RE2 has no lookaround or backreferences.
const RE2_UNSUPPORTED = /\(\?<?[=!]|\\[1-9]/;

/** A compiled RE2 pattern. */
export interface Re2 {
  readonly source: string;
  /** The number of capturing groups. */
  readonly groups: number;
  /** A match of the whole string (Envoy's safe_regex: RE2::FullMatch). */
  full(s: string): boolean;
  /** Every non-overlapping match replaced (RE2::GlobalReplace), with an Envoy substitution. */
  replaceAll(s: string, sub: Substitution): string;
}

/** A compiled rewrite substitution: literal text and capture-group numbers (`\0` the whole match). */
export type Substitution = readonly (string | number)[];

/** Why RE2 can't compile this pattern, or undefined when it can. */
export function re2Error(pattern: string, ignoreCase = false): string | undefined {
  const r = compileRe2(pattern, ignoreCase);
  return typeof r === "string" ? r : undefined;
}

/** The compiled pattern, or the reason it doesn't compile (a message quoting the pattern). */
export function compileRe2(pattern: string, ignoreCase = false): Re2 | string {
  if (RE2_UNSUPPORTED.test(pattern))
    return `"${pattern}" uses lookaround or backreferences, which RE2 does not support`;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    return `"${pattern}" is not a valid regex: ${(err as Error).message}`;
  }
  const groups = re.groupCount();
  const compiled: Re2 = {
    source: pattern,
    groups,
    full: (s) => re.testExact(s),
    replaceAll: (s, sub) =>
      // `unknown[]`: re2js passes (match, ...groups, offset, input); the groups are strings or undefined.
      re.matcher(s).replaceAll((...args: unknown[]) => {
        let out = "";
        for (const part of sub) out += typeof part === "string" ? part : ((args[part] as string | undefined) ?? "");
        return out;
      }),
  };
  return compiled;
}

/**
 * An Envoy regex_rewrite substitution (RE2's rewrite string): `\0`..`\9` insert a capture group (`\0` the whole
 * match), `\\` a backslash; any other escape, or a group the pattern doesn't have, is an error, as RE2's
 * CheckRewriteString says.
 */
export function compileSubstitution(text: string, groups: number): Substitution | string {
  const parts: (string | number)[] = [];
  let lit = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "\\") {
      lit += c;
      continue;
    }
    const n = text[++i];
    if (n === "\\") lit += "\\";
    else if (n !== undefined && n >= "0" && n <= "9") {
      const g = n.charCodeAt(0) - 48;
      if (g > groups)
        return `"${text}" uses \\${g}, but the pattern has ${groups} capturing group${groups === 1 ? "" : "s"}`;
      if (lit) parts.push(lit);
      lit = "";
      parts.push(g);
    } else return `"${text}" has an invalid escape "\\${n ?? ""}" (only \\0 to \\9 and \\\\)`;
  }
  if (lit) parts.push(lit);
  return parts;
}
