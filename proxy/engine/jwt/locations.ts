// Where a request carries its tokens (Envoy's jwt_authn Extractor): headers (with a value prefix), query parameters
// and cookies, each with the issuers that named it; a provider that names none uses `Authorization: Bearer <token>`
// and `?access_token=`. Indexed once per config, in Envoy's order (headers by name and prefix, then parameters, then
// cookies, each sorted).
import { queryParam } from "../config/route-match.js";
import type { RequestView } from "../config/types.js";

export interface TokenSources {
  headers: readonly { name: string; prefix: string }[];
  params: readonly string[];
  cookies: readonly string[];
}

/** The issuers a location was named by; undefined: one of them named no issuer, so any is allowed. */
type Issuers = ReadonlySet<string> | undefined;

export interface Locations {
  /** What the provider itself named (one provider's locations), for building a filter-wide index. */
  from: TokenSources;
  headers: readonly { name: string; prefix: string; issuers: Issuers }[];
  params: readonly { name: string; issuers: Issuers }[];
  cookies: readonly { name: string; issuers: Issuers }[];
}

export interface FoundToken {
  value: string;
  issuers: Issuers;
  where: "header" | "param" | "cookie";
  name: string;
}

const DEFAULT: TokenSources = {
  headers: [{ name: "authorization", prefix: "Bearer " }],
  params: ["access_token"],
  cookies: [],
};
const JWT_CHARS = /[A-Za-z0-9_.-]/;

class IssuerIndex<K> {
  private readonly m = new Map<string, { key: K; all: boolean; set: Set<string> }>();
  add(id: string, key: K, issuer: string): void {
    let e = this.m.get(id);
    if (!e) this.m.set(id, (e = { key, all: false, set: new Set() }));
    if (issuer) e.set.add(issuer);
    else e.all = true;
  }
  sorted(): { key: K; issuers: Issuers }[] {
    return [...this.m.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, e]) => ({ key: e.key, issuers: e.all ? undefined : e.set }));
  }
}

export function compileLocations(providers: readonly { issuer: string; from: TokenSources }[]): Locations {
  const headers = new IssuerIndex<{ name: string; prefix: string }>();
  const params = new IssuerIndex<string>();
  const cookies = new IssuerIndex<string>();
  for (const p of providers) {
    const own = p.from.headers.length || p.from.params.length || p.from.cookies.length;
    const from = own ? p.from : DEFAULT;
    for (const h of from.headers) headers.add(h.name + h.prefix, h, p.issuer);
    for (const q of from.params) params.add(q, q, p.issuer);
    for (const c of from.cookies) cookies.add(c, c, p.issuer);
  }
  return {
    from: providers.length === 1 ? (providers[0] as { from: TokenSources }).from : DEFAULT,
    headers: headers.sorted().map(({ key, issuers }) => ({ ...key, issuers })),
    params: params.sorted().map(({ key, issuers }) => ({ name: key, issuers })),
    cookies: cookies.sorted().map(({ key, issuers }) => ({ name: key, issuers })),
  };
}

/** Envoy's extractJWT: after the prefix, from the first base64url-or-dot character to the end. */
function afterPrefix(value: string, prefix: string): string | undefined {
  if (!prefix) return value;
  const at = value.indexOf(prefix);
  if (at < 0) return undefined;
  for (let i = at + prefix.length; i < value.length; i++) if (JWT_CHARS.test(value[i] as string)) return value.slice(i);
  return value;
}

/** A cookie's value (the first of that name), its quotes removed, as Envoy's parseCookies. */
function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}

/** Every token the request carries at these locations. */
export function extractTokens(loc: Locations, view: RequestView): FoundToken[] {
  const out: FoundToken[] = [];
  for (const h of loc.headers) {
    const raw = view.header(h.name);
    const value = raw === undefined ? undefined : afterPrefix(raw, h.prefix);
    if (value !== undefined) out.push({ value, issuers: h.issuers, where: "header", name: h.name });
  }
  for (const q of loc.params) {
    const value = queryParam(view.query, q.name);
    if (value !== undefined) out.push({ value, issuers: q.issuers, where: "param", name: q.name });
  }
  if (loc.cookies.length) {
    const header = view.header("cookie");
    for (const c of loc.cookies) {
      const value = cookie(header, c.name);
      if (value !== undefined) out.push({ value, issuers: c.issuers, where: "cookie", name: c.name });
    }
  }
  return out;
}

export function issuerAllowed(t: FoundToken, iss: string): boolean {
  return t.issuers === undefined || t.issuers.has(iss);
}

/** The query string without parameter `name` (every occurrence); the others as they came. */
export function withoutParam(query: string, name: string): string {
  return query
    .split("&")
    .filter((part) => {
      const eq = part.indexOf("=");
      return (eq < 0 ? part : part.slice(0, eq)) !== name;
    })
    .join("&");
}
