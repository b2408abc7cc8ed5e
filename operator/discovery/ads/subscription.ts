// What the ADS server keeps per stream and type, and the pure rules about names: wildcards, equality, and which
// types may be answered with only what changed.
import type { DiscoveryRequest } from "../../../proxy/xds/ads.js";
import type { RawDiscoveryRequest } from "../../../proxy/xds/request.js";
import { TYPE, isSnapshotType, type SnapshotType } from "../../../proxy/xds/types.js";
import type { Selection } from "./snapshot.js";

export { isSnapshotType };

export interface Subscription {
  names: string[] | "*";
  nonce?: string;
  /** The names as the proxy last encoded them: a request with the same bytes names the same. */
  namesBytes?: Buffer;
  /** What was last sent for these names; undefined when the names changed since (they are answered in full). */
  sent?: Selection;
  /**
   * What the proxy last ACKed of it (an ACK of the latest response): an EDS/RDS response carries what changed since
   * this, so a response that was NACKed, or answered after a newer one went out, is covered by the next.
   */
  acked?: Selection;
  sentVersion?: string;
  ackedVersion?: string;
}

/** EDS and RDS responses may carry only what changed, unless their parent type (CDS, LDS) was just sent. */
export const PARENT: Partial<Record<SnapshotType, SnapshotType>> = {
  [TYPE.endpoint]: TYPE.cluster,
  [TYPE.route]: TYPE.listener,
};

/** The raw parts of a request decoded by the server's deserializer; none for a request built in a test. */
export function rawOf(req: DiscoveryRequest): Partial<Pick<RawDiscoveryRequest, "namesBytes" | "nodeBytes">> {
  return req as Partial<RawDiscoveryRequest>;
}

/** LDS and CDS: no names (or "*") means everything. RDS and EDS are always by name. */
export function subscribedNames(type: SnapshotType, names: string[]): string[] | "*" {
  const wildcardable = type === TYPE.listener || type === TYPE.cluster;
  if (wildcardable && (names.length === 0 || names.includes("*"))) return "*";
  return names.filter((n) => n !== "*");
}

export function sameNames(a: string[] | "*", b: string[] | "*"): boolean {
  if (a === "*" || b === "*") return a === b;
  if (a.length !== b.length) return false;
  // Proxies repeat their names in the same order with every ACK: check that first, cheaply.
  if (a.every((n, i) => n === b[i])) return true;
  const set = new Set(a);
  return b.every((n) => set.has(n));
}
