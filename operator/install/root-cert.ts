// ConfigMap istio-ca-root-cert (key root-cert.pem) in every namespace, as istiod's namespace controller keeps it:
// the mesh's trust bundle, which the injected sidecar mounts to verify the mesh CA and its peers. Created when a
// namespace appears, repaired when edited or deleted, rewritten when the CA changes.
//
// The operator writes it, not weftd: the operator already owns the CA Secret (it generates and rotates it) and
// holds cluster-wide ConfigMap rights to install meshes, while weftd is what workloads talk to (15010, 15012,
// webhooks); giving it write access to every namespace's ConfigMaps would widen what a compromised weftd can do.
// With several MeshInstallations, the oldest publishes (one trust bundle per cluster, as Istio's). Pure.
import type { KubernetesObject, V1ConfigMap, V1Namespace, V1Secret } from "@kubernetes/client-node";
import { ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY } from "../api/roles.js";
import { API_VERSION, GROUP, KIND, type MeshInstallation } from "../api/types.js";
import { IGNORED_NAMESPACES } from "../injector/patch.js";
import { MESH_LABEL, meshLabels } from "./labels.js";

/** The mesh that publishes the bundle: the oldest one not being deleted (then by name), or undefined. */
export function rootCertPublisher(meshes: readonly MeshInstallation[]): string | undefined {
  const live = meshes.filter((m) => !m.metadata?.deletionTimestamp && m.metadata?.name);
  const created = (m: MeshInstallation) => new Date(m.metadata?.creationTimestamp ?? 0).getTime();
  live.sort((a, b) => created(a) - created(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  return live[0]?.metadata?.name;
}

/**
 * The trust bundle: the CA Secret's root-cert.pem when it has one (Istio's cacerts layout; during a CA rotation it
 * holds the old and the new root, so both are trusted until every workload has a certificate from the new one),
 * else its ca-cert.pem.
 */
export function rootBundle(secretData: V1Secret["data"], caCertPem: string): string {
  const bundle = secretData?.[ROOT_CERT_KEY];
  return bundle ? Buffer.from(bundle, "base64").toString("utf8") : caCertPem;
}

/** The namespaces that get the ConfigMap: every one, but Kubernetes' own and those being deleted. */
export function publishedNamespaces(namespaces: readonly V1Namespace[]): string[] {
  return namespaces
    .filter((n) => n.metadata?.name && !IGNORED_NAMESPACES.has(n.metadata.name))
    .filter((n) => !n.metadata?.deletionTimestamp && n.status?.phase !== "Terminating")
    .map((n) => n.metadata!.name!);
}

/**
 * Whether a namespace's event asks for work: it gets the bundle and has no ConfigMap yet. Its other changes (labels,
 * a deletion's progress) change nothing here, and an edit or a delete of the ConfigMap comes through the ConfigMap
 * informer: so an operator at rest stays at rest while namespaces come and go around it.
 */
export function namespaceNeedsBundle(ns: V1Namespace, hasConfigMap: boolean): boolean {
  return !hasConfigMap && publishedNamespaces([ns]).length === 1;
}

export function rootCertConfigMap(namespace: string, mesh: string, bundle: string, ownerUid: string): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: ROOT_CERT_CONFIGMAP,
      namespace,
      labels: { ...meshLabels(mesh), "istio.io/config": "true" },
      ownerReferences: [
        { apiVersion: `${GROUP}/${API_VERSION}`, kind: KIND, name: mesh, uid: ownerUid, controller: false },
      ],
    },
    data: { [ROOT_CERT_KEY]: bundle },
  };
}

/** The ConfigMaps to apply: those missing, or whose bundle or mesh label differ from what they should be. */
export function rootCertsToApply(
  namespaces: readonly string[],
  existing: (namespace: string) => V1ConfigMap | undefined,
  mesh: string,
  bundle: string,
  ownerUid: string,
): V1ConfigMap[] {
  return namespaces
    .filter((ns) => {
      const cm = existing(ns);
      return cm?.data?.[ROOT_CERT_KEY] !== bundle || cm.metadata?.labels?.[MESH_LABEL] !== mesh;
    })
    .map((ns) => rootCertConfigMap(ns, mesh, bundle, ownerUid));
}

export const isRootCert = (o: KubernetesObject) => o.metadata?.name === ROOT_CERT_CONFIGMAP;
