// The summary the operator reads from ConfigMap weft-proxy-status (key status.json). Pure.
import type { ProxyReport } from "../../install/status.js";
import type { ProxySync } from "./tracker.js";
import { isNacked, isSynced } from "./tracker.js";
import { parseNodeId } from "../translate/proxy.js";

/** What the operator reads (ProxyReport), every field present, plus when it was written. */
export type ProxyStatusSummary = Required<Omit<ProxyReport, "upgraded">> & { updated: string };

/** A proxy's pod, `<namespace>/<pod>`, from its node id (`sidecar~<ip>~<pod>.<ns>~...`). */
export function podKey(node: string): string {
  const id = parseNodeId(node);
  return `${id.namespace}/${id.workloadName}`;
}

export function summarise(proxies: readonly Readonly<ProxySync>[], now: Date = new Date()): ProxyStatusSummary {
  const versions: Record<string, number> = {};
  const configVersions: Record<string, number> = {};
  const engines: ProxyStatusSummary["engines"] = {};
  const nacks: ProxyStatusSummary["nacks"] = [];
  let synced = 0;
  let nacked = 0;
  for (const p of proxies) {
    if (isSynced(p)) synced++;
    if (isNacked(p)) nacked++;
    if (p.configVersion !== undefined) configVersions[p.configVersion] = (configVersions[p.configVersion] ?? 0) + 1;
    if (p.engine) {
      versions[p.engine.engine] = (versions[p.engine.engine] ?? 0) + 1;
      engines[podKey(p.node)] = p.engine;
    }
    for (const [type, t] of Object.entries(p.types))
      if (t.nack) nacks.push({ node: p.node, type, error: t.nack.error });
    // Not a NACK, but as visible: the proxy runs an older config because its new one couldn't be built.
    if (p.snapshotError) nacks.push({ node: p.node, type: "snapshot", error: p.snapshotError });
  }
  nacks.sort((a, b) => a.node.localeCompare(b.node) || a.type.localeCompare(b.type));
  return {
    connected: proxies.length,
    synced,
    nacked,
    versions,
    configVersions,
    engines: sortedKeys(engines),
    nacks,
    updated: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}

const sortedKeys = <T>(o: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

/**
 * How two summaries differ, their timestamps aside: not at all, only in how many proxies hold which config
 * generation (every push moves those), or in more. The writer writes the last kind soonest.
 */
export function summaryChange(
  a: ProxyStatusSummary | undefined,
  b: ProxyStatusSummary,
): "none" | "configVersions" | "more" {
  if (!a) return "more";
  const { updated: _a, configVersions: va, ...restA } = a;
  const { updated: _b, configVersions: vb, ...restB } = b;
  if (JSON.stringify(restA) !== JSON.stringify(restB)) return "more";
  return JSON.stringify(va) === JSON.stringify(vb) ? "none" : "configVersions";
}
