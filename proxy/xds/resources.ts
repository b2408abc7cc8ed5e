// The Envoy resources Weft exchanges, typed: a resource is its message beside its "@type", in proto3 JSON.
// The message types are generated (proxy/xds/generated/, `npm run gen:xds-types`); this file names the ones
// translate and the engine pass around, so they import from one place.
import type { Packed } from "./generated/any.js";
import type { TYPE } from "./types.js";

export type { Any, AnyTypes, Packed } from "./generated/any.js";

export type Listener = Packed<typeof TYPE.listener>;
export type RouteConfiguration = Packed<typeof TYPE.route>;
export type Cluster = Packed<typeof TYPE.cluster>;
export type ClusterLoadAssignment = Packed<typeof TYPE.endpoint>;
export type Secret = Packed<typeof TYPE.secret>;
export type HttpConnectionManager = Packed<typeof TYPE.httpConnectionManager>;
export type HTTPFault = Packed<typeof TYPE.fault>;
export type CorsPolicy = Packed<typeof TYPE.corsPolicy>;
export type TcpProxy = Packed<typeof TYPE.tcpProxy>;
export type UpstreamTlsContext = Packed<typeof TYPE.upstreamTlsContext>;
export type HttpProtocolOptions = Packed<typeof TYPE.httpProtocolOptions>;

export type {
  Address,
  ConfigSource,
  HeaderValueOption,
  Metadata,
  TransportSocket,
} from "./generated/envoy/config/core/v3.js";
export type { CircuitBreakers, OutlierDetection, Cluster_LbPolicy } from "./generated/envoy/config/cluster/v3.js";
export type { LbEndpoint, LocalityLbEndpoints } from "./generated/envoy/config/endpoint/v3.js";
export type { Filter, FilterChain } from "./generated/envoy/config/listener/v3.js";
export type {
  HeaderMatcher,
  QueryParameterMatcher,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteAction_HashPolicy,
  RouteAction_RequestMirrorPolicy,
  RouteMatch,
  VirtualHost,
  WeightedCluster,
  WeightedCluster_ClusterWeight,
} from "./generated/envoy/config/route/v3.js";
export type { HttpFilter } from "./generated/envoy/extensions/filters/network/http_connection_manager/v3.js";
export type { StringMatcher } from "./generated/envoy/type/matcher/v3.js";
export type { FractionalPercent } from "./generated/envoy/type/v3.js";
