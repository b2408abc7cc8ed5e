// The request hash from a route's hash_policy, for RING_HASH and MAGLEV.
import { createHash } from "node:crypto";
import type { HashPolicy, RequestView } from "../config/types.js";
import { xxhash32 } from "../lb/hash.js";
import { queryParam } from "./index.js";

/** A cookie's value, its surrounding double quotes taken off (Envoy's parseCookieValue). */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
    }
  }
  return undefined;
}

/** The connection a request came on, for a cookie the proxy makes: its key, and where Set-Cookie goes. */
export interface CookieMaker {
  /** Called only when a cookie is made (nothing is built per request otherwise). */
  cookieConnection(): string;
  setCookie(header: string): void;
}

/**
 * Envoy's generated cookie (Router::addDownstreamSetCookie): a value from the connection, so one client's requests
 * racing on a connection get the same one, sent back as `name="value"; Max-Age=ttl; Path=path; HttpOnly`.
 */
function makeCookie(p: Extract<HashPolicy, { kind: "cookie" }>, maker: CookieMaker): string {
  const value = createHash("sha256").update(maker.cookieConnection()).digest("hex").slice(0, 16);
  let header = `${p.name}="${value}"`;
  if (p.ttlSeconds) header += `; Max-Age=${p.ttlSeconds}`;
  if (p.path) header += `; Path=${p.path}`;
  maker.setCookie(`${header}; HttpOnly`);
  return value;
}

/**
 * Envoy combines the hashes of every policy that yields a value; a terminal policy with a value stops. A cookie policy
 * with a ttl makes the cookie when the request has none (with `maker`), and hashes the value it made.
 */
export function requestHash(
  policies: readonly HashPolicy[],
  req: RequestView,
  sourceIp: string,
  maker?: CookieMaker,
): number | undefined {
  let hash: number | undefined;
  for (const p of policies) {
    let v: string | undefined;
    if (p.kind === "header") v = req.header(p.name);
    else if (p.kind === "cookie") {
      v = cookieValue(req.header("cookie"), p.name);
      if (v === undefined && p.ttlSeconds !== undefined && maker) v = makeCookie(p, maker);
    } else if (p.kind === "source_ip") v = sourceIp || undefined;
    else v = queryParam(req.query, p.name);
    if (v === undefined) continue;
    const h = xxhash32(v);
    hash = hash === undefined ? h : (((hash << 1) | (hash >>> 31)) ^ h) >>> 0;
    if (p.terminal) break;
  }
  return hash;
}
