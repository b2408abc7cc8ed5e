// `weft proxy-config`: a proxy's /config_dump as istioctl's tables (clusters, listeners, routes, endpoints,
// secrets), or the resources themselves. The dump's resources are Envoy's v3 JSON (snake_case). Pure.
import { X509Certificate } from "node:crypto";
import type { ConfigType } from "../../api/tool-roles.js";
import { table } from "./table.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === "string" || typeof v === "number" ? String(v) : "");

export interface ConfigDump {
  version?: string;
  resources?: { listeners?: unknown[]; routes?: unknown[]; clusters?: unknown[]; endpoints?: unknown[] };
}

export const TABLE_TYPES = ["clusters", "listeners", "routes", "endpoints", "secrets"] as const;
type TableType = (typeof TABLE_TYPES)[number];

/** istioctl's columns: SERVICE FQDN, PORT, SUBSET, DIRECTION, TYPE; from Istio's cluster names. */
function clusterRows(dump: ConfigDump): string[][] {
  return arr(dump.resources?.clusters).map((c) => {
    const name = str(obj(c).name);
    const [direction, port, subset, fqdn] = name.split("|");
    const type = str(obj(c).type) || (obj(c).cluster_type ? "CUSTOM" : "EDS");
    if (fqdn === undefined) return [name, "-", "-", "-", type];
    return [fqdn || "", port ?? "", subset || "-", direction ?? "", type];
  });
}

function address(l: Obj): [string, string] {
  const sa = obj(obj(l.address).socket_address);
  return [str(sa.address), str(sa.port_value)];
}

/** What a filter chain sends to: the HCM's route table, or the TCP proxy's cluster. */
function destination(chain: Obj): string {
  for (const f of arr(chain.filters)) {
    const t = obj(obj(f).typed_config);
    if (obj(t.rds).route_config_name) return `Route: ${str(obj(t.rds).route_config_name)}`;
    if (t.route_config) return `Inline Route: ${str(obj(t.route_config).name)}`;
    if (t.cluster) return `Cluster: ${str(t.cluster)}`;
    const weighted = arr(obj(t.weighted_clusters).clusters);
    if (weighted.length) return `Clusters: ${weighted.map((w) => str(obj(w).name)).join(", ")}`;
  }
  return "-";
}

function chainMatch(chain: Obj): string {
  const m = obj(chain.filter_chain_match);
  const parts: string[] = [];
  if (m.destination_port !== undefined) parts.push(`Port: ${str(m.destination_port)}`);
  if (arr(m.server_names).length) parts.push(`SNI: ${arr(m.server_names).map(str).join(",")}`);
  if (m.transport_protocol) parts.push(`Trans: ${str(m.transport_protocol)}`);
  if (arr(m.application_protocols).length) parts.push(`App: ${arr(m.application_protocols).map(str).join(",")}`);
  if (arr(m.prefix_ranges).length)
    parts.push(`Addr: ${arr(m.prefix_ranges).map((p) => `${str(obj(p).address_prefix)}/${str(obj(p).prefix_len)}`)}`);
  return parts.length ? parts.join("; ") : "ALL";
}

/** istioctl's columns: ADDRESS, PORT, MATCH, DESTINATION; one row per filter chain. */
function listenerRows(dump: ConfigDump): string[][] {
  return arr(dump.resources?.listeners).flatMap((raw) => {
    const l = obj(raw);
    const [addr, port] = address(l);
    const chains = [...arr(l.filter_chains), ...(l.default_filter_chain ? [l.default_filter_chain] : [])];
    if (chains.length === 0) return [[addr, port, "-", "-"]];
    return chains.map((c) => [addr, port, chainMatch(obj(c)), destination(obj(c))]);
  });
}

function routeMatch(m: Obj): string {
  if (m.prefix !== undefined) return `${str(m.prefix)}*`;
  if (m.path !== undefined) return str(m.path);
  if (obj(m.safe_regex).regex !== undefined) return `regex ${str(obj(m.safe_regex).regex)}`;
  if (m.path_separated_prefix !== undefined) return `${str(m.path_separated_prefix)}/*`;
  return "/*";
}

/** The VirtualService a route came from, as Istio tags it (metadata.filter_metadata.istio.config). */
function virtualService(r: Obj): string {
  const config = str(obj(obj(obj(r.metadata).filter_metadata).istio).config);
  const m = /\/namespaces\/([^/]+)\/virtual-service\/([^/]+)$/.exec(config);
  return m ? `${m[2]}.${m[1]}` : "-";
}

/** Route tables: RDS's, then those inlined in a listener's HTTP connection manager. */
function routeConfigs(dump: ConfigDump): unknown[] {
  const inline = arr(dump.resources?.listeners).flatMap((l) =>
    [...arr(obj(l).filter_chains), obj(l).default_filter_chain].flatMap((c) =>
      arr(obj(c).filters).flatMap((f) => {
        const rc = obj(obj(f).typed_config).route_config;
        return rc ? [rc] : [];
      }),
    ),
  );
  return [...arr(dump.resources?.routes), ...inline];
}

/** istioctl's columns: NAME, VHOST NAME, DOMAINS, MATCH, VIRTUAL SERVICE; one row per route. */
function routeRows(dump: ConfigDump): string[][] {
  return routeConfigs(dump).flatMap((raw) => {
    const rc = obj(raw);
    return arr(rc.virtual_hosts).flatMap((vh) => {
      const v = obj(vh);
      const domains = arr(v.domains).map(str);
      const shown = domains.length > 1 ? `${domains[0]} +${domains.length - 1} more...` : (domains[0] ?? "");
      return arr(v.routes).map((r) => [
        str(rc.name),
        str(v.name),
        shown,
        routeMatch(obj(obj(r).match)),
        virtualService(obj(r)),
      ]);
    });
  });
}

/** istioctl's columns: ENDPOINT, STATUS, OUTLIER CHECK, CLUSTER; the status is what EDS says. */
function endpointRows(dump: ConfigDump): string[][] {
  return arr(dump.resources?.endpoints).flatMap((raw) => {
    const cla = obj(raw);
    return arr(cla.endpoints).flatMap((locality) =>
      arr(obj(locality).lb_endpoints).map((lb) => {
        const e = obj(lb);
        const sa = obj(obj(obj(e.endpoint).address).socket_address);
        return [
          `${str(sa.address)}:${str(sa.port_value)}`,
          str(e.health_status) || "HEALTHY",
          "OK",
          str(cla.cluster_name),
        ];
      }),
    );
  });
}

/** Every TLS context's certificates, found anywhere in a resource. */
function tlsCertificates(v: unknown, owner: string, out: string[][]): void {
  if (Array.isArray(v)) return v.forEach((x) => tlsCertificates(x, owner, out));
  const o = obj(v);
  for (const [k, x] of Object.entries(o)) {
    if (k === "tls_certificates")
      for (const c of arr(x)) out.push(certRow(owner, "Cert Chain", obj(obj(c).certificate_chain)));
    else if (k === "trusted_ca") out.push(certRow(owner, "CA", obj(x)));
    else if (x && typeof x === "object") tlsCertificates(x, owner, out);
  }
}

function certRow(owner: string, type: string, source: Obj): string[] {
  const pem = str(source.inline_string);
  if (!pem) return [owner, type, str(source.filename) ? `file ${str(source.filename)}` : "-", "-", "-", "-"];
  try {
    const c = new X509Certificate(pem);
    const valid = new Date(c.validTo) > new Date() && new Date(c.validFrom) <= new Date();
    return [owner, type, valid ? "true" : "false", c.serialNumber.toLowerCase(), iso(c.validTo), iso(c.validFrom)];
  } catch {
    return [owner, type, "false", "unparseable", "-", "-"];
  }
}
const iso = (d: string): string => new Date(d).toISOString().replace(/\.\d{3}Z$/, "Z");

/** istioctl's columns: RESOURCE NAME, TYPE, VALID CERT, SERIAL NUMBER, NOT AFTER, NOT BEFORE. */
function secretRows(dump: ConfigDump): string[][] {
  const out: string[][] = [];
  for (const c of arr(dump.resources?.clusters)) tlsCertificates(obj(c).transport_socket, str(obj(c).name), out);
  for (const l of arr(dump.resources?.listeners))
    for (const chain of arr(obj(l).filter_chains)) tlsCertificates(obj(chain).transport_socket, str(obj(l).name), out);
  return out;
}

const TABLES: Record<TableType, { headers: string[]; rows: (d: ConfigDump) => string[][] }> = {
  clusters: { headers: ["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE"], rows: clusterRows },
  listeners: { headers: ["ADDRESS", "PORT", "MATCH", "DESTINATION"], rows: listenerRows },
  routes: { headers: ["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"], rows: routeRows },
  endpoints: { headers: ["ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"], rows: endpointRows },
  secrets: {
    headers: ["RESOURCE NAME", "TYPE", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE"],
    rows: secretRows,
  },
};

export function configTable(dump: ConfigDump, type: ConfigType): string {
  const types = type === "all" ? TABLE_TYPES : [type];
  return types.map((t) => table(TABLES[t].headers, TABLES[t].rows(dump))).join("\n");
}

/** The resources themselves, for -o json|yaml: one type's list, or every type's under its name. */
export function configResources(dump: ConfigDump, type: ConfigType): unknown {
  const r = dump.resources ?? {};
  if (type === "all") return r;
  if (type === "secrets")
    return secretRows(dump).map(([resource, kind, valid, serial, notAfter, notBefore]) => ({
      resource,
      type: kind,
      validCert: valid,
      serialNumber: serial,
      notAfter,
      notBefore,
    }));
  if (type === "routes") return routeConfigs(dump);
  return r[type] ?? [];
}
