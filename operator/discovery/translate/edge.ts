// A gateway is the mesh's edge: its connection managers take the client's address from the connection
// (use_remote_address), as istiod writes a gateway's, believing x-forwarded-for only for the mesh config's
// gatewayTopology.numTrustedProxies hops (xff_num_trusted_hops). Without it, a client could name its own address in
// x-forwarded-for and pass an AuthorizationPolicy's remoteIpBlocks. Sidecars keep Envoy's default (false): the
// gateway's x-forwarded-for is what they trust. And x-forwarded-client-cert as istiod's buildGatewayConnectionManager
// writes it: gatewayTopology.forwardClientCertDetails (SANITIZE_SET unless set), with the client certificate's
// subject, cert, dns and uri when that mode sets the header. Pure.
import type { Listener } from "../../../proxy/xds/resources.js";
import type { MeshSettings } from "../model/mesh.js";

const HCM = "envoy.filters.network.http_connection_manager";

/** `listeners` with every HTTP connection manager at the edge (new objects; the given ones are not changed). */
export function atTheEdge(listeners: Listener[], mesh: MeshSettings | undefined): Listener[] {
  const hops = mesh?.numTrustedProxies ?? 0;
  const edge = { use_remote_address: true, ...(hops ? { xff_num_trusted_hops: hops } : {}), ...clientCert(mesh) };
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

/** istiod's gateway XFCC fields (SANITIZE, the enum's zero, is left out as istiod's JSON leaves it). */
function clientCert(mesh: MeshSettings | undefined): Record<string, unknown> {
  const mode = mesh?.gatewayForwardClientCert ?? "SANITIZE_SET";
  if (mode === "SANITIZE") return {};
  if (mode !== "APPEND_FORWARD" && mode !== "SANITIZE_SET") return { forward_client_cert_details: mode };
  return {
    forward_client_cert_details: mode,
    set_current_client_cert_details: { subject: true, cert: true, dns: true, uri: true },
  };
}
