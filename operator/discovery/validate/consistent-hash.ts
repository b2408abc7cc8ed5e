// A traffic policy's consistent hash, as istiod's validateLoadBalancer checks it (one key; ringHash or maglev; a prime
// maglev table), and what the proxy would refuse: a sticky cookie's name and path go into the Set-Cookie the proxy
// sends when it makes the cookie (ttl), so a token and a header value. Pure.
import type { LoadBalancerSettings } from "../model/istio.js";
import { headerNameError, headerValueError } from "../../../proxy/xds/header-field.js";

/** Envoy's (and so Istio's) primality test for a maglev table size. */
function isPrime(x: number): boolean {
  if (x < 4) return x > 1;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}

/** Problems with `lb`'s consistentHash, each at a path under the traffic policy (`loadBalancer...`). */
export function consistentHashProblems(lb: LoadBalancerSettings | undefined): { path: string; message: string }[] {
  const ch = lb?.consistentHash;
  if (!ch) return [];
  const out: { path: string; message: string }[] = [];
  const at = "loadBalancer.consistentHash";
  const keys = [ch.httpHeaderName, ch.httpCookie, ch.useSourceIp, ch.httpQueryParameterName].filter(
    (x) => x !== undefined && x !== false,
  );
  if (keys.length !== 1)
    out.push({
      path: at,
      message: "set exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName",
    });
  if (ch.ringHash && ch.maglev) out.push({ path: at, message: "set ringHash or maglev, not both" });
  const cookie = ch.httpCookie;
  if (cookie?.name === "" || (cookie?.name !== undefined && headerNameError(cookie.name)))
    out.push({
      path: `${at}.httpCookie.name`,
      message: `${JSON.stringify(cookie.name)} is not a cookie name (a token)`,
    });
  const pathError = cookie?.path === undefined ? undefined : headerValueError(cookie.path);
  if (pathError) out.push({ path: `${at}.httpCookie.path`, message: pathError });
  if (lb?.simple) out.push({ path: "loadBalancer", message: "set simple or consistentHash, not both" });
  const table = ch.maglev?.tableSize;
  if (typeof table === "number" && Number.isInteger(table) && !isPrime(table))
    out.push({ path: `${at}.maglev.tableSize`, message: "tableSize must be a prime number for maglev" });
  return out;
}
