// The summary the operator reads from ConfigMap weft-proxy-status (key status.json). Pure.
import type { ProxyReport } from "../../install/status.js";
import type { ProxySync } from "./tracker.js";
import { isNacked, isSynced } from "./tracker.js";

/** What the operator reads (ProxyReport), every field present, plus when it was written. */
export type ProxyStatusSummary = Required<ProxyReport> & { updated: string };

export function summarise(proxies: readonly Readonly<ProxySync>[], now: Date = new Date()): ProxyStatusSummary {
  const versions: Record<string, number> = {};
  const nacks: ProxyStatusSummary["nacks"] = [];
  let synced = 0;
  let nacked = 0;
  for (const p of proxies) {
    if (isSynced(p)) synced++;
    if (isNacked(p)) nacked++;
    if (p.configVersion !== undefined) versions[p.configVersion] = (versions[p.configVersion] ?? 0) + 1;
    for (const [type, t] of Object.entries(p.types)) if (t.nack) nacks.push({ node: p.node, type, error: t.nack.error });
    // Not a NACK, but as visible: the proxy runs an older config because its new one couldn't be built.
    if (p.snapshotError) nacks.push({ node: p.node, type: "snapshot", error: p.snapshotError });
  }
  nacks.sort((a, b) => a.node.localeCompare(b.node) || a.type.localeCompare(b.type));
  return { connected: proxies.length, synced, nacked, versions, nacks, updated: now.toISOString().replace(/\.\d{3}Z$/, "Z") };
}

/** Whether two summaries differ in anything but their timestamp: the writer only writes on change. */
export function summaryChanged(a: ProxyStatusSummary | undefined, b: ProxyStatusSummary): boolean {
  if (!a) return true;
  const { updated: _a, ...restA } = a;
  const { updated: _b, ...restB } = b;
  return JSON.stringify(restA) !== JSON.stringify(restB);
}
