// Listeners: the sidecar's outbound (15001 and one per HTTP port), its inbound (15006), gateway listeners on
// the Gateway's server ports, and API listeners for proxyless gRPC clients.
import type { Address, Filter, HttpConnectionManager, HttpFilter, Listener } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { ServicePort } from "../model/config.js";
import { CORS_FILTER, FAULT_FILTER, ROUTER_FILTER } from "./actions.js";
import { PASSTHROUGH, inboundName } from "./clusters.js";
import { ADS } from "./policy.js";

export const OUTBOUND_PORT = 15001;
export const INBOUND_PORT = 15006;

export function httpFilters(proxyless: boolean): HttpFilter[] {
  const filters: HttpFilter[] = [];
  // gRPC clients know the fault filter but not CORS; a filter they don't know makes them NACK.
  if (!proxyless) filters.push({ name: CORS_FILTER, typed_config: { "@type": TYPE.cors } });
  filters.push({ name: FAULT_FILTER, typed_config: { "@type": TYPE.fault } });
  filters.push({ name: ROUTER_FILTER, typed_config: { "@type": TYPE.router } });
  return filters;
}

/**
 * Path normalisation on every proxy's HCM (sidecar inbound and outbound, gateways), as Istio's mesh-wide
 * pathNormalization turns it on, so a route that denies /admin can't be walked around with /public/../admin or
 * //admin. Proxyless gRPC clients keep the plain HCM: they implement neither field.
 */
export const PATH_NORMALIZATION: Pick<HttpConnectionManager, "normalize_path" | "merge_slashes"> = { normalize_path: true, merge_slashes: true };

export function connectionManager(statPrefix: string, routeConfigName: string, proxyless: boolean): HttpConnectionManager {
  return {
    "@type": TYPE.httpConnectionManager,
    stat_prefix: statPrefix,
    rds: { config_source: ADS, route_config_name: routeConfigName },
    http_filters: httpFilters(proxyless),
    ...(proxyless ? {} : PATH_NORMALIZATION),
  };
}

function address(port: number): Address {
  return { socket_address: { address: "0.0.0.0", port_value: port } };
}

function hcmFilter(config: HttpConnectionManager): Filter {
  return { name: "envoy.filters.network.http_connection_manager", typed_config: config };
}

/** 0.0.0.0_15001: captured outbound traffic, dispatched by original destination; unknown traffic passes through. */
export function virtualOutbound(): Listener {
  return {
    "@type": TYPE.listener,
    name: "virtualOutbound",
    address: address(OUTBOUND_PORT),
    use_original_dst: true,
    traffic_direction: "OUTBOUND",
    filter_chains: [
      {
        name: "virtualOutbound-catchall-tcp",
        filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": TYPE.tcpProxy, stat_prefix: PASSTHROUGH, cluster: PASSTHROUGH } }],
      },
    ],
  };
}

/** 0.0.0.0_<port>: outbound HTTP on one port, routed by the RouteConfiguration named after the port. */
export function outboundHttpListener(port: number): Listener {
  return {
    "@type": TYPE.listener,
    name: `0.0.0.0_${port}`,
    address: address(port),
    bind_to_port: false,
    traffic_direction: "OUTBOUND",
    filter_chains: [{ filters: [hcmFilter(connectionManager(`outbound_0.0.0.0_${port}`, String(port), false))] }],
  };
}

/** `<vip>_<port>`: outbound TCP to one service, found by its virtual IP, proxied as bytes. */
export function outboundTcpListener(vip: string, port: number, cluster: string): Listener {
  return {
    "@type": TYPE.listener,
    name: `${vip}_${port}`,
    address: { socket_address: { address: vip, port_value: port } },
    bind_to_port: false,
    traffic_direction: "OUTBOUND",
    filter_chains: [
      { filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": TYPE.tcpProxy, stat_prefix: cluster, cluster } }] },
    ],
  };
}

/** virtualInbound on 15006: one filter chain per port the workload serves, to `inbound|<port>||`. */
export function virtualInbound(ports: ServicePort[]): Listener {
  return {
    "@type": TYPE.listener,
    name: "virtualInbound",
    address: address(INBOUND_PORT),
    traffic_direction: "INBOUND",
    filter_chains: ports.map((port) => {
      const target = port.targetPort ?? port.number;
      const cluster = inboundName(target);
      return {
        name: cluster,
        filter_chain_match: { destination_port: target },
        filters: [
          hcmFilter({
            "@type": TYPE.httpConnectionManager,
            stat_prefix: cluster,
            route_config: {
              name: cluster,
              virtual_hosts: [
                {
                  name: `inbound|http|${target}`,
                  domains: ["*"],
                  routes: [{ name: "default", match: { prefix: "/" }, route: { cluster, timeout: "0s" } }],
                },
              ],
            },
            http_filters: httpFilters(false),
            ...PATH_NORMALIZATION,
          }),
        ],
      };
    }),
  };
}

/** A gateway's listener on a server port, routed by `http.<port>`. */
export function gatewayListener(port: number): Listener {
  return {
    "@type": TYPE.listener,
    name: `0.0.0.0_${port}`,
    address: address(port),
    traffic_direction: "OUTBOUND",
    filter_chains: [{ filters: [hcmFilter(connectionManager(`outbound_0.0.0.0_${port}`, `http.${port}`, false))] }],
  };
}

/** What a gRPC client dialling `xds:///<name>` asks for: an API listener whose routes come over RDS. */
export function apiListener(name: string): Listener {
  return {
    "@type": TYPE.listener,
    name,
    api_listener: { api_listener: connectionManager(name, name, true) },
  };
}
