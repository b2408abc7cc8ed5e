// The one regex engine for every pattern that comes from config: RE2 semantics in linear time (re2js, a pure-JS port
// of RE2/Go regexp; hack/bench/regex.ts measures it and proxy/README.md says why it was chosen). The engine compiles
// route, header, query and CORS matchers and regex rewrites with it, and discovery's validation webhook accepts a
// pattern exactly when this module compiles it, so what the webhook lets through is what the proxy can run. Pure.
import { createRequire } from "node:module";
import type * as Re2js from "re2js";
import type { RE2JS } from "re2js";

let re2js: typeof RE2JS | undefined;

/**
 * re2js, loaded with the first pattern: most sidecars' configs have none (Istio's translation makes regexes for
 * AuthorizationPolicy values and regex matches), and re2js' code and Unicode tables were the largest single part of
 * both the agent's and the engine's heap (about 0.6 MB private each, bench:memory). From dist/ Node's require loads
 * its CommonJS build; in the image's engine bundle, esbuild turns `require` into its bundled copy, initialized on
 * that first call.
 */
function re2(): typeof RE2JS {
  const load = (): unknown =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- what esbuild bundles (the image's engine)
    typeof require === "function" ? require("re2js") : createRequire(import.meta.url)("re2js");
  re2js ??= (load() as typeof Re2js).RE2JS;
  return re2js;
}

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
  const RE2 = re2();
  let re: RE2JS;
  try {
    re = RE2.compile(pattern, ignoreCase ? RE2.CASE_INSENSITIVE : 0);
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
