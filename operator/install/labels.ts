// Names and labels shared by render, the reconciler and the operator's informers.
export const FIELD_MANAGER = "weft-operator";
export const FINALIZER = "weft.dev/finalizer";
export const MESH_LABEL = "weft.dev/mesh";
export const MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_SELECTOR = `${MANAGED_BY}=${FIELD_MANAGER}`;
/** Set on a namespace the operator created, so that deleting the mesh deletes it too. */
export const CREATED_BY_ANNOTATION = "weft.dev/created-by-mesh";

export const DISCOVERY = "weftd";
export const INJECTOR_CONFIGMAP = "weft-sidecar-injector";
export const MESH_CONFIGMAP = "weft-mesh";
export const CA_SECRET = "weft-ca-secret";
/** Written by weftd: its sync tracker's summary, which the operator folds into status. */
export const PROXY_STATUS_CONFIGMAP = "weft-proxy-status";

export const clusterScopedName = (mesh: string, what: string) => `weft-${what}-${mesh}`;

export function meshLabels(mesh: string): Record<string, string> {
  return { [MANAGED_BY]: FIELD_MANAGER, "app.kubernetes.io/part-of": "weft", [MESH_LABEL]: mesh };
}
