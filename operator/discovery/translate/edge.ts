// A gateway is the mesh's edge: its connection managers take the client's address from the connection
// (use_remote_address), as istiod writes a gateway's, believing x-forwarded-for only for the mesh config's
// gatewayTopology.numTrustedProxies hops (xff_num_trusted_hops). Without it, a client could name its own address in
// x-forwarded-for and pass an AuthorizationPolicy's remoteIpBlocks. Sidecars keep Envoy's default (false): the
// gateway's x-forwarded-for is what they trust. Pure.
import type { Listener } from "../../../proxy/xds/resources.js";
import type { MeshSettings } from "../model/mesh.js";

const HCM = "envoy.filters.network.http_connection_manager";

/** `listeners` with every HTTP connection manager at the edge (new objects; the given ones are not changed). */
export function atTheEdge(listeners: Listener[], mesh: MeshSettings | undefined): Listener[] {
  const hops = mesh?.numTrustedProxies ?? 0;
  const edge = { use_remote_address: true, ...(hops ? { xff_num_trusted_hops: hops } : {}) };
  return listeners.map((l) => ({
    ...l,
    filter_chains: (l.filter_chains ?? []).map((c) => ({
      ...c,
      filters: (c.filters ?? []).map((f) =>
        f.name === HCM ? { ...f, typed_config: { ...(f.typed_config as object), ...edge } } : f,
      ),
    })),
  })) as Listener[];
}
