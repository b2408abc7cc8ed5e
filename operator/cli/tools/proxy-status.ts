// `weft proxy-status`: every connected proxy's CDS/LDS/EDS/RDS state as `istioctl proxy-status` prints it. Pure.
import { parseNodeId } from "../../discovery/translate/proxy.js";
import {
  XDS_COLUMNS,
  xdsState,
  type ProxyStatusResponse,
  type SynczProxy,
  type XdsState,
} from "../../discovery/ads/syncz.js";

export { xdsState, type XdsState };
import { table } from "./table.js";

/** istioctl's NAME: `<pod>.<namespace>`. */
export const proxyName = (node: string): string => {
  const id = parseNodeId(node);
  return `${id.workloadName}.${id.namespace}`;
};

export interface StatusRow {
  name: string;
  node: string;
  states: Record<(typeof XDS_COLUMNS)[number], XdsState>;
  replica: string;
  version: string;
  nacks: { type: string; error: string }[];
}

export function statusRows(responses: readonly ProxyStatusResponse[]): StatusRow[] {
  const rows = responses.flatMap((r) =>
    r.proxies.map((p: SynczProxy) => ({
      name: proxyName(p.node),
      node: p.node,
      states: Object.fromEntries(XDS_COLUMNS.map((c) => [c, xdsState(p.types[c])])) as StatusRow["states"],
      replica: r.replica,
      version: p.engine?.engine ?? "",
      nacks: [
        ...Object.entries(p.types).flatMap(([type, t]) => (t.nack ? [{ type, error: t.nack.error }] : [])),
        ...(p.snapshotError ? [{ type: "snapshot", error: p.snapshotError }] : []),
      ],
    })),
  );
  return rows.sort((a, b) => a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
}

/** The table (istioctl's columns; ECDS is never sent by weftd), then one line per NACK with its error. */
export function formatStatus(rows: readonly StatusRow[], cluster: string): string {
  const headers = ["NAME", "CLUSTER", ...XDS_COLUMNS, "ECDS", "ISTIOD", "VERSION"];
  const body = rows.map((r) => [
    r.name,
    cluster,
    ...XDS_COLUMNS.map((c) => r.states[c]),
    "NOT SENT",
    r.replica,
    r.version,
  ]);
  const nacks = rows.flatMap((r) => r.nacks.map((n) => `NACKED ${r.name} ${n.type}: ${n.error}\n`));
  return table(headers, body) + (nacks.length ? `\n${nacks.join("")}` : "");
}
