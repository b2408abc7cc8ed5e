// Listeners: the sidecar's outbound (15001 and one per HTTP port), its inbound (15006), and API listeners for
// proxyless gRPC clients (gateway listeners: gateway-listeners.ts).
import type { MeshSettings } from "../model/mesh.js";
import { attemptCount, xForwardedHost } from "./proxy-headers.js";
import { httpAuthFilters, NETWORK_RBAC_FILTER, NO_AUTHZ, type WorkloadAuthz } from "./authz.js";
import type {
  Address,
  Filter,
  FilterChain,
  HttpConnectionManager,
  HttpFilter,
  Listener,
  TcpProxy,
  VirtualHost,
} from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { ServicePort } from "../model/config.js";
import type { AccessLogFormat } from "../model/mesh-logging.js";
import type { Observing, Side } from "./telemetry.js";
import { isHttpProtocol } from "../model/normalise.js";
import { CORS_FILTER, FAULT_FILTER, ROUTER_FILTER } from "./actions.js";
import { BLACKHOLE, PASSTHROUGH, inboundName } from "./clusters.js";
import { tracerProvider } from "./tracing.js";
import type { OutboundTrafficMode } from "../model/config.js";
import { ADS } from "./policy.js";
import { inboundMtls, ISTIO_MTLS_ALPNS, TLS_INSPECTOR } from "./mtls.js";
import type { MtlsMode } from "./peer-authentication.js";

export const OUTBOUND_PORT = 15001;
export const INBOUND_PORT = 15006;

/** gRPC-Web to gRPC, on the listeners of GRPC-WEB ports (Istio adds it for that protocol only): filters/grpc-web.ts. */
const GRPC_WEB: HttpFilter = { name: "envoy.filters.http.grpc_web", typed_config: { "@type": TYPE.grpcWeb } };

/** The HTTP filters of a proxy's HCM; `grpcWeb`: the port's protocol is GRPC-WEB. */
export function httpFilters(proxyless: boolean, grpcWeb = false): HttpFilter[] {
  const filters: HttpFilter[] = grpcWeb ? [GRPC_WEB] : [];
  // gRPC clients know the fault filter but not CORS; a filter they don't know makes them NACK.
  if (!proxyless) filters.push({ name: CORS_FILTER, typed_config: { "@type": TYPE.cors } });
  filters.push({ name: FAULT_FILTER, typed_config: { "@type": TYPE.fault } });
  filters.push({ name: ROUTER_FILTER, typed_config: { "@type": TYPE.router } });
  return filters;
}

/**
 * The mesh config's access log (Envoy's file logger on /dev/stdout) in Istio's field names, JSON or TEXT:
 *   JSON: {"start_time","method","path","protocol","response_code","response_flags","bytes_received","bytes_sent",
 *          "duration","x_forwarded_for","user_agent","request_id","authority","upstream_host","upstream_cluster",
 *          "downstream_remote_address","route_name"}
 *   TEXT: [start] "METHOD PATH PROTOCOL" CODE FLAGS RECEIVED SENT DURATION "XFF" "UA" "REQUEST-ID" "AUTHORITY"
 *         "UPSTREAM-HOST" UPSTREAM-CLUSTER DOWNSTREAM-REMOTE-IP ROUTE (the client address without its port: the
 * engine knows no other)
 */
export const ACCESS_LOG_JSON = {
  start_time: "%START_TIME%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  response_code: "%RESPONSE_CODE%",
  response_flags: "%RESPONSE_FLAGS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration: "%DURATION%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
  user_agent: "%REQ(USER-AGENT)%",
  request_id: "%REQ(X-REQUEST-ID)%",
  authority: "%REQ(:AUTHORITY)%",
  upstream_host: "%UPSTREAM_HOST%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
  route_name: "%ROUTE_NAME%",
};
export const ACCESS_LOG_TEXT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ' +
  "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %ROUTE_NAME%\n";

/** The access log a side of a proxy writes (Envoy's file logger on /dev/stdout), or none. */
function accessLog(o: Observing | undefined): HttpConnectionManager["access_log"] {
  if (!o?.log) return undefined;
  return [
    {
      name: "envoy.access_loggers.file",
      typed_config: { "@type": TYPE.fileAccessLog, path: "/dev/stdout", log_format: logFormat(o.log, o.encoding) },
    },
  ];
}

/** What the mesh config and Telemetry add to an HTTP connection manager: the access log and tracing. */
function meshFields(o: Observing | undefined): Pick<HttpConnectionManager, "access_log" | "tracing"> {
  if (!o) return {};
  return {
    access_log: accessLog(o),
    tracing: {
      random_sampling: { value: o.sampling },
      ...(o.tracer ? { provider: tracerProvider(o.tracer) } : {}),
    },
  };
}

/**
 * A provider's format in Envoy's terms: the mesh's encoding (JSON or TEXT above), or its own text (Istio's TEXT when
 * empty, a newline added) or JSON labels (Istio's JSON when none).
 */
function logFormat(f: AccessLogFormat, encoding: "JSON" | "TEXT") {
  const text = (t: string) => ({ text_format_source: { inline_string: t.endsWith("\n") ? t : `${t}\n` } });
  if (f.kind === "text") return text(f.text || ACCESS_LOG_TEXT);
  if (f.kind === "labels") return { json_format: Object.keys(f.labels).length ? f.labels : ACCESS_LOG_JSON };
  return encoding === "TEXT" ? text(ACCESS_LOG_TEXT) : { json_format: ACCESS_LOG_JSON };
}

/**
 * Path normalisation on every proxy's HCM (sidecar inbound and outbound, gateways), as Istio's mesh-wide
 * pathNormalization turns it on, so a route that denies /admin can't be walked around with /public/../admin or
 * //admin. Proxyless gRPC clients keep the plain HCM: they implement neither field.
 */
export const PATH_NORMALIZATION: Pick<HttpConnectionManager, "normalize_path" | "merge_slashes"> = {
  normalize_path: true,
  merge_slashes: true,
};

/**
 * WebSocket upgrades allowed on every proxy's HCM (sidecar inbound and outbound, gateways), as Istio sets
 * upgrade_configs on every HTTP connection manager it builds, so WebSocket apps work in the mesh. Proxyless gRPC
 * clients keep the plain HCM.
 */
export const WEBSOCKET_UPGRADES: Pick<HttpConnectionManager, "upgrade_configs"> = {
  upgrade_configs: [{ upgrade_type: "websocket" }],
};

export function connectionManager(
  statPrefix: string,
  routeConfigName: string,
  proxyless: boolean,
  observe?: Observing,
  grpcWeb = false,
): HttpConnectionManager {
  return {
    "@type": TYPE.httpConnectionManager,
    stat_prefix: statPrefix,
    rds: { config_source: ADS, route_config_name: routeConfigName },
    http_filters: httpFilters(proxyless, grpcWeb),
    ...(proxyless ? {} : { ...PATH_NORMALIZATION, ...WEBSOCKET_UPGRADES, ...meshFields(observe) }),
  };
}

export function address(port: number): Address {
  return { socket_address: { address: "0.0.0.0", port_value: port } };
}

export function hcmFilter(config: HttpConnectionManager): Filter {
  return { name: "envoy.filters.network.http_connection_manager", typed_config: config };
}

/**
 * 0.0.0.0_15001: captured outbound traffic, dispatched by original destination; unknown traffic passes through
 * (ALLOW_ANY) or is dropped (REGISTRY_ONLY), as Istio's catch-all chain.
 */
export function virtualOutbound(mode: OutboundTrafficMode = "ALLOW_ANY"): Listener {
  const cluster = mode === "REGISTRY_ONLY" ? BLACKHOLE : PASSTHROUGH;
  return {
    "@type": TYPE.listener,
    name: "virtualOutbound",
    address: address(OUTBOUND_PORT),
    use_original_dst: true,
    traffic_direction: "OUTBOUND",
    filter_chains: [
      {
        name: "virtualOutbound-catchall-tcp",
        filters: [
          {
            name: "envoy.filters.network.tcp_proxy",
            typed_config: { "@type": TYPE.tcpProxy, stat_prefix: cluster, cluster },
          },
        ],
      },
    ],
  };
}

/** Istio's last virtual host of every outbound route table: `allow_any` to PassthroughCluster, or `block_all` (502). */
export function catchAllVirtualHost(mode: OutboundTrafficMode = "ALLOW_ANY", mesh?: MeshSettings): VirtualHost {
  if (mode === "REGISTRY_ONLY") {
    return {
      name: "block_all",
      domains: ["*"],
      routes: [{ name: "block_all", match: { prefix: "/" }, direct_response: { status: 502 } }],
      ...attemptCount(mesh),
    };
  }
  return {
    name: "allow_any",
    domains: ["*"],
    routes: [
      {
        name: "allow_any",
        match: { prefix: "/" },
        route: { cluster: PASSTHROUGH, timeout: "0s", max_grpc_timeout: "0s", ...xForwardedHost(mesh) },
      },
    ],
    ...attemptCount(mesh),
  };
}

/** 0.0.0.0_<port>: outbound HTTP on one port, routed by the RouteConfiguration named after the port. */
export function outboundHttpListener(port: number, observe?: Observing): Listener {
  return {
    "@type": TYPE.listener,
    name: `0.0.0.0_${port}`,
    address: address(port),
    bind_to_port: false,
    traffic_direction: "OUTBOUND",
    filter_chains: [
      { filters: [hcmFilter(connectionManager(`outbound_0.0.0.0_${port}`, String(port), false, observe))] },
    ],
  };
}

/** `<vip>_<port>`: outbound TCP to one service, found by its virtual IP, proxied as bytes. */
/** A VIP:port's TCP listener: `chains` (tcp-chains.ts), else one to `cluster`. */
export function outboundTcpListener(vip: string, port: number, cluster: string, chains?: FilterChain[]): Listener {
  return {
    "@type": TYPE.listener,
    name: `${vip}_${port}`,
    address: { socket_address: { address: vip, port_value: port } },
    bind_to_port: false,
    traffic_direction: "OUTBOUND",
    filter_chains: chains ?? [{ filters: [tcpProxyFilter(cluster)] }],
  };
}

function tcpProxyFilter(cluster: string): Filter {
  return {
    name: "envoy.filters.network.tcp_proxy",
    typed_config: { "@type": TYPE.tcpProxy, stat_prefix: cluster, cluster },
  };
}

/** How the inbound listener terminates mTLS: each port's mode, and whether the proxy holds a mesh certificate. */
export interface InboundMtls {
  modeFor(port: number): MtlsMode;
  /** The proxy has SDS `default`/`ROOTCA`: PERMISSIVE adds a TLS chain. STRICT has one whatever this says. */
  identity: boolean;
}

const NO_MTLS: InboundMtls = { modeFor: () => "DISABLE", identity: false };

/** A port's chains by how the connection arrives: mesh mTLS (terminated), TLS of the client's own (passed through as
 * bytes), plaintext, or any (no transport match). */
type Arrival = "mtls" | "tls" | "raw_buffer" | undefined;

/**
 * The chains a port has, as Istio's inbound filter chain match options (listener_inbound.go): STRICT terminates
 * every TLS connection as mTLS; PERMISSIVE (when the proxy can terminate it) matches mesh mTLS by its ALPN, passes
 * a client's own TLS to a TCP port through to the app, and takes plaintext (an HTTP port has no passthrough:
 * Istio's "explicitly declared as HTTP"); DISABLE plaintext only.
 */
function arrivals(mode: MtlsMode, identity: boolean, http: boolean): Arrival[] {
  if (mode === "STRICT") return ["tls"];
  if (mode === "PERMISSIVE" && identity) return http ? ["mtls", "raw_buffer"] : ["mtls", "tls", "raw_buffer"];
  return [undefined];
}

function chainMatch(target: number, arrival: Arrival): FilterChain["filter_chain_match"] {
  if (arrival === "mtls")
    return { destination_port: target, transport_protocol: "tls", application_protocols: [...ISTIO_MTLS_ALPNS] };
  return { destination_port: target, ...(arrival ? { transport_protocol: arrival } : {}) };
}

/**
 * virtualInbound on 15006: filter chains per port the workload serves, to `inbound|<port>||`, each starting with
 * the workload's authorization (RBAC) filters. Under mutual TLS (PeerAuthentication) the TLS inspector tells TLS
 * from plaintext: STRICT has only the TLS chain (a client certificate from the mesh required), PERMISSIVE both;
 * the app sees the peer's identity in x-forwarded-client-cert, as Istio's inbound sets it.
 */
export function virtualInbound(
  ports: ServicePort[],
  observe?: Observing,
  authz: WorkloadAuthz = NO_AUTHZ,
  mtls: InboundMtls = NO_MTLS,
): Listener {
  const chains: FilterChain[] = [];
  for (const port of ports) {
    const target = port.targetPort ?? port.number;
    const http = isHttpProtocol(port.protocol);
    const mode = mtls.modeFor(target);
    for (const arrival of arrivals(mode, mtls.identity, http)) {
      // STRICT's one TLS chain, and PERMISSIVE's mTLS chain, terminate mTLS; PERMISSIVE's TLS chain passes it on.
      const terminate = arrival === "mtls" || (arrival === "tls" && mode === "STRICT");
      chains.push({
        name: cluster(target),
        filter_chain_match: chainMatch(target, arrival),
        ...(terminate ? { transport_socket: inboundMtls(http) } : {}),
        filters: http
          ? inboundHttpFilters(target, observe, authz, port.protocol === "GRPC-WEB")
          : inboundTcpFilters(target, authz),
      });
    }
  }
  const inspect = chains.some((c) => c.filter_chain_match?.transport_protocol !== undefined);
  return {
    "@type": TYPE.listener,
    name: "virtualInbound",
    address: address(INBOUND_PORT),
    traffic_direction: "INBOUND",
    ...(inspect ? { listener_filters: [TLS_INSPECTOR] as Listener["listener_filters"] } : {}),
    filter_chains: chains,
  };
}

const cluster = (target: number): string => inboundName(target);

/** Plain TCP (or an unknown protocol) is passed to the app as bytes, as Istio's inbound TCP chain does. */
function inboundTcpFilters(target: number, authz: WorkloadAuthz): Filter[] {
  const rbac = authz.tcp.map((c) => ({ name: NETWORK_RBAC_FILTER, typed_config: c }));
  return [...rbac, tcpProxyFilter(cluster(target))] as Filter[];
}

function inboundHttpFilters(
  target: number,
  observe: Observing | undefined,
  authz: WorkloadAuthz,
  grpcWeb: boolean,
): Filter[] {
  const name = cluster(target);
  return [
    hcmFilter({
      "@type": TYPE.httpConnectionManager,
      stat_prefix: name,
      route_config: {
        name,
        virtual_hosts: [
          {
            name: `inbound|http|${target}`,
            domains: ["*"],
            routes: [{ name: "default", match: { prefix: "/" }, route: { cluster: name, timeout: "0s" } }],
          },
        ],
      },
      http_filters: [...httpAuthFilters(authz), ...httpFilters(false, grpcWeb)] as HttpFilter[],
      // x-forwarded-client-cert, server_name, generate_request_id: the mesh's proxyHeaders (proxy-headers.ts).
      ...PATH_NORMALIZATION,
      ...WEBSOCKET_UPGRADES,
      ...meshFields(observe),
    }),
  ];
}

/** What a gRPC client dialling `xds:///<name>` asks for: an API listener whose routes come over RDS. */
export function apiListener(name: string): Listener {
  return {
    "@type": TYPE.listener,
    name,
    api_listener: { api_listener: connectionManager(name, name, true) },
  };
}

const TCP_PROXY = "envoy.filters.network.tcp_proxy";

/**
 * Every TCP proxy of these listeners with the access log of its side (inbound: SERVER, the rest: CLIENT), as Istio
 * logs connections as well as requests: service ports, passthrough and blackhole, TLS by SNI, gateways. New objects:
 * listeners may be shared with other translations.
 */
export function logConnections(listeners: Listener[], observe: (side: Side) => Observing | undefined): Listener[] {
  const logs = { SERVER: accessLog(observe("SERVER")), CLIENT: accessLog(observe("CLIENT")) };
  if (!logs.SERVER && !logs.CLIENT) return listeners;
  return listeners.map((l) => {
    const log = logs[l.traffic_direction === "INBOUND" ? "SERVER" : "CLIENT"];
    const chains = l.filter_chains ?? [];
    if (!log || !chains.some((c) => c.filters?.some((f) => f.name === TCP_PROXY))) return l;
    return {
      ...l,
      filter_chains: chains.map((c) => ({
        ...c,
        filters: c.filters?.map((f) =>
          f.name === TCP_PROXY ? { ...f, typed_config: { ...(f.typed_config as TcpProxy), access_log: log } } : f,
        ),
      })),
    };
  });
}
