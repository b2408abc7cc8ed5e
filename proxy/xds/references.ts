// The names one resource type references in another: the ClusterLoadAssignments EDS clusters need, the
// RouteConfigurations listeners ask for over RDS. Used by discovery (to check a snapshot is whole) and by the agent
// (to subscribe), on JSON as it comes: anything not shaped as expected names nothing.
import type { JsonObject } from "./types.js";

const obj = (v: unknown): JsonObject | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as JsonObject) : undefined;

/** The ClusterLoadAssignment names the EDS clusters need: eds_cluster_config.service_name, else the cluster's name. */
export function edsNames(clusters: Iterable<JsonObject>): string[] {
  const names = new Set<string>();
  for (const c of clusters) {
    if (c["type"] !== "EDS") continue;
    const service = obj(c["eds_cluster_config"])?.["service_name"];
    names.add(typeof service === "string" && service ? service : String(c["name"]));
  }
  return [...names].sort();
}

/** The RouteConfiguration names the listeners' connection managers ask for over RDS. */
export function rdsNames(listeners: Iterable<JsonObject>): string[] {
  const names = new Set<string>();
  const fromHcm = (hcm: JsonObject | undefined): void => {
    const name = obj(hcm?.["rds"])?.["route_config_name"];
    if (typeof name === "string") names.add(name);
  };
  for (const l of listeners) {
    fromHcm(obj(obj(l["api_listener"])?.["api_listener"]));
    const chains = Array.isArray(l["filter_chains"]) ? l["filter_chains"] : [];
    for (const chain of chains) {
      const filters = obj(chain)?.["filters"];
      for (const f of Array.isArray(filters) ? filters : []) fromHcm(obj(obj(f)?.["typed_config"]));
    }
  }
  return [...names].sort();
}

/**
 * The SDS Secret names the transport sockets of listeners' chains and clusters (and their transport_socket_matches)
 * ask for: tls_certificate_sds_secret_configs, validation_context_sds_secret_config (also under
 * combined_validation_context).
 */
export function sdsNames(listeners: Iterable<JsonObject>, clusters: Iterable<JsonObject> = []): string[] {
  const names = new Set<string>();
  const fromSocket = (socket: unknown): void => {
    const common = obj(obj(obj(socket)?.["typed_config"])?.["common_tls_context"]);
    if (!common) return;
    const certs = common["tls_certificate_sds_secret_configs"];
    for (const c of Array.isArray(certs) ? certs : []) add(obj(c)?.["name"]);
    add(obj(common["validation_context_sds_secret_config"])?.["name"]);
    add(obj(obj(common["combined_validation_context"])?.["validation_context_sds_secret_config"])?.["name"]);
  };
  const add = (name: unknown): void => void (typeof name === "string" && names.add(name));
  for (const l of listeners) {
    const chains = l["filter_chains"];
    for (const chain of Array.isArray(chains) ? chains : []) fromSocket(obj(chain)?.["transport_socket"]);
  }
  for (const c of clusters) {
    fromSocket(c["transport_socket"]);
    const matches = c["transport_socket_matches"];
    for (const m of Array.isArray(matches) ? matches : []) fromSocket(obj(m)?.["transport_socket"]);
  }
  return [...names].sort();
}
