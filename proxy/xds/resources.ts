// The Envoy resources Weft exchanges, typed: a resource is its message beside its "@type", in proto3 JSON.
// The message types are generated (proxy/xds/generated/, `npm run gen:xds-types`); this file names the few that
// translate and the engine pass around.
import type { Packed } from "./generated/any.js";
import type { TYPE } from "./types.js";

export type { Any, AnyTypes, Packed } from "./generated/any.js";

export type Listener = Packed<typeof TYPE.listener>;
export type RouteConfiguration = Packed<typeof TYPE.route>;
export type Cluster = Packed<typeof TYPE.cluster>;
export type ClusterLoadAssignment = Packed<typeof TYPE.endpoint>;
export type Secret = Packed<typeof TYPE.secret>;
