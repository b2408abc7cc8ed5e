// The request hash from a route's hash_policy, for RING_HASH and MAGLEV.
import type { HashPolicy, RequestView } from "../config/types.js";
import { xxhash32 } from "../lb/hash.js";
import { queryParam } from "./index.js";

export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Envoy combines the hashes of every policy that yields a value; a terminal policy with a value stops. */
export function requestHash(policies: readonly HashPolicy[], req: RequestView, sourceIp: string): number | undefined {
  let hash: number | undefined;
  for (const p of policies) {
    let v: string | undefined;
    if (p.kind === "header") v = req.header(p.name);
    else if (p.kind === "cookie") v = cookieValue(req.header("cookie"), p.name);
    else if (p.kind === "source_ip") v = sourceIp || undefined;
    else v = queryParam(req.query, p.name);
    if (v === undefined) continue;
    const h = xxhash32(v);
    hash = hash === undefined ? h : (((hash << 1) | (hash >>> 31)) ^ h) >>> 0;
    if (p.terminal) break;
  }
  return hash;
}
