// The kinds of object the incremental model keeps, and which one an object is (by its apiVersion's group and kind).
import type { KubeObject } from "./kube.js";

export type Kind = "Service" | "EndpointSlice" | "Pod" | "Node" | "ServiceEntry" | "WorkloadEntry";
export type ListKind =
  | "VirtualService"
  | "DestinationRule"
  | "Gateway"
  | "Sidecar"
  | "AuthorizationPolicy"
  | "PeerAuthentication"
  | "RequestAuthentication"
  | "Telemetry"
  | "Secret";

/** Which part of the model an object feeds; undefined: none (Namespaces, kinds normalise ignores). */
export function kindOf(o: KubeObject): Kind | ListKind | undefined {
  const group = (o.apiVersion ?? "").split("/").slice(0, -1).join("/");
  const kind = o.kind ?? "";
  if (group === "" && (kind === "Service" || kind === "Pod" || kind === "Node" || kind === "Secret")) return kind;
  if (group === "discovery.k8s.io" && kind === "EndpointSlice") return kind;
  if (group === "networking.istio.io" && (kind === "ServiceEntry" || kind === "WorkloadEntry")) return kind;
  if (
    group === "networking.istio.io" &&
    (kind === "VirtualService" || kind === "DestinationRule" || kind === "Gateway" || kind === "Sidecar")
  )
    return kind;
  if (
    group === "security.istio.io" &&
    (kind === "AuthorizationPolicy" || kind === "PeerAuthentication" || kind === "RequestAuthentication")
  )
    return kind;
  if (group === "telemetry.istio.io" && kind === "Telemetry") return kind;
  return undefined;
}
