// The contract between weftd's :15014 and the `weft` CLI (proxy-status, proxy-config, check): paths and shapes,
// typed once and imported by both sides. Pure.
import type { ProxySync, TypeSync } from "./tracker.js";

/** Every proxy's sync state, as /debug/syncz serves it (an array, the shape Istio's tools know). */
export const SYNCZ_PATH = "/debug/syncz";
/** The same, with the replica that serves them: what `weft proxy-status` reads. */
export const PROXY_STATUS_PATH = "/debug/proxy-status";

export type SynczProxy = Omit<ProxySync, "connection">;
export type { TypeSync };

export interface ProxyStatusResponse {
  /** The discovery replica these proxies are connected to (its pod name; the hostname in local mode). */
  replica: string;
  /** The discovery's own version. */
  version: string;
  proxies: SynczProxy[];
}

/** The four types `proxy-status` shows, in istioctl's column order. */
export const XDS_COLUMNS = ["CDS", "LDS", "EDS", "RDS"] as const;
export type XdsColumn = (typeof XDS_COLUMNS)[number];

export type XdsState = "SYNCED" | "NOT SENT" | "NACKED" | "STALE" | "STALE (Never Acknowledged)";

/** istioctl's xdsStatus, plus NACKED: a NACK that stands wins over the versions. */
export function xdsState(t: TypeSync | undefined): XdsState {
  if (!t?.sent) return "NOT SENT";
  if (t.nack) return "NACKED";
  if (t.sent === t.acked) return "SYNCED";
  return t.acked ? "STALE" : "STALE (Never Acknowledged)";
}
