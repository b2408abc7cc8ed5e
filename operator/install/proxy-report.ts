// The proxy report's contract between weftd and the operator. ConfigMap weft-proxy-status holds one key per weftd
// replica, `status.<replica>.json` (a lone writer may use `status.json`), each a summary of the proxies connected
// to that replica; the operator adds them up. Pure.
import { reportFromMetadata, reportMetadata, type EngineReport } from "../../proxy/xds/engine.js";
import type { ProxyReport } from "./status.js";

const REPORT_KEY = /^status(\.[^/]+)?\.json$/;

export const reportKey = (replica: string): string => `status.${replica}.json`;
export const isReportKey = (key: string): boolean => REPORT_KEY.test(key);
/** The replica a key belongs to ("" for `status.json`). */
export const replicaOf = (key: string): string => REPORT_KEY.exec(key)?.[1]?.slice(1) ?? "";

/** Report keys of replicas that are gone (not this one, not a live weftd pod): a crashed replica's. */
export function staleReportKeys(data: Record<string, string> | undefined, me: string, pods: string[]): string[] {
  const live = new Set([me, ...pods]);
  return Object.keys(data ?? {}).filter((k) => isReportKey(k) && replicaOf(k) !== "" && !live.has(replicaOf(k)));
}

function parseOne(raw: string): ProxyReport | undefined {
  try {
    const r = JSON.parse(raw) as Partial<ProxyReport> | null;
    if (!r || typeof r !== "object") return undefined;
    const n = (v: unknown) => (typeof v === "number" && v >= 0 ? Math.floor(v) : 0);
    const versions = r.versions && typeof r.versions === "object" ? r.versions : undefined;
    const engines: Record<string, EngineReport> = {};
    for (const [pod, e] of Object.entries(r.engines && typeof r.engines === "object" ? r.engines : {})) {
      // The same checks as discovery's on the proxy's own words: a report is only as good as its fields.
      const checked = reportFromMetadata(reportMetadata(e));
      if (checked) engines[pod] = checked;
    }
    return {
      connected: n(r.connected),
      synced: n(r.synced),
      nacked: n(r.nacked),
      versions,
      ...(Object.keys(engines).length ? { engines } : {}),
      nacks: Array.isArray(r.nacks) ? r.nacks : [],
    };
  } catch {
    return undefined;
  }
}

/** Every replica's report added up; undefined when there is none that parses. */
export function reportFromData(data: Record<string, string> | undefined): ProxyReport | undefined {
  const reports = Object.entries(data ?? {})
    .filter(([key]) => isReportKey(key))
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([, raw]) => parseOne(raw) ?? []);
  if (reports.length === 0) return undefined;
  const total: ProxyReport = { connected: 0, synced: 0, nacked: 0, nacks: [] };
  for (const r of reports) {
    total.connected += r.connected;
    total.synced += r.synced;
    total.nacked += r.nacked;
    if (r.versions) {
      total.versions ??= {};
      for (const [v, count] of Object.entries(r.versions)) total.versions[v] = (total.versions[v] ?? 0) + count;
    }
    total.nacks?.push(...(r.nacks ?? []));
    if (r.engines) total.engines = { ...total.engines, ...r.engines };
  }
  total.nacks?.sort((a, b) => a.node.localeCompare(b.node) || a.type.localeCompare(b.type));
  return total;
}
