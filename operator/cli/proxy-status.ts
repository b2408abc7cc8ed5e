// `weft proxy-status`: reads /debug/proxy-status from every weftd (one address, or every pod through the API
// server), then prints istioctl's table. Exit 1 when weftd can't be reached.
import type { Values } from "../api/contract.js";
import type { proxyStatusRole } from "../api/tool-roles.js";
import { PROXY_STATUS_PATH, type ProxyStatusResponse } from "../discovery/ads/syncz.js";
import { formatStatus, statusRows } from "./tools/proxy-status.js";
import { discoveryResponses } from "./tools/reach.js";

export async function runProxyStatus(v: Values<typeof proxyStatusRole>): Promise<number> {
  const { responses, cluster } = await discoveryResponses<ProxyStatusResponse>(v, PROXY_STATUS_PATH);
  process.stdout.write(formatStatus(statusRows(responses), cluster));
  return 0;
}
