// render(spec) → the control plane's objects. Pure: the same inputs give the same
// objects, so server-side apply of an unchanged mesh writes nothing.
import type { KubernetesObject, V1RoleBinding } from "@kubernetes/client-node";
import { commandLine } from "../api/contract.js";
import { discoveryRole } from "../api/roles.js";
import { DISCOVERY_PROCESS_ENV } from "../api/process-env.js";
import { durationSeconds } from "../discovery/model/duration.js";
import { API_VERSION, GROUP, KIND, type MeshSpec } from "../api/types.js";
import {
  CA_SECRET,
  DISCOVERY,
  INJECTOR_CONFIGMAP,
  MESH_CONFIGMAP,
  MESH_LABEL,
  clusterScopedName,
  meshLabels,
} from "./labels.js";
import { injectorConfigMap } from "./render-injector.js";
import { meshConfigText } from "./render-mesh.js";

export interface RenderContext {
  /** metadata.name and uid of the MeshInstallation, for labels and owner references. */
  name: string;
  uid: string;
  ca: { certPem: string; keyPem: string };
}

export interface Rendered {
  namespace: KubernetesObject;
  /** In apply order: what others refer to comes first. */
  objects: KubernetesObject[];
}

export const discoveryImage = (spec: MeshSpec) => `${spec.hub}/weft:${spec.version}`;
/** The Istio API groups weftd reads (and the webhook validates). */
const ISTIO_GROUPS = ["networking.istio.io", "security.istio.io", "telemetry.istio.io"];
const b64 = (s: string) => Buffer.from(s).toString("base64");

export function render(spec: MeshSpec, ctx: RenderContext): Rendered {
  const ns = spec.namespace;
  const labels = meshLabels(ctx.name);
  const ownerReferences = [
    {
      apiVersion: `${GROUP}/${API_VERSION}`,
      kind: KIND,
      name: ctx.name,
      uid: ctx.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  const meta = (name: string, namespace?: string, extra: Record<string, string> = {}) => ({
    name,
    ...(namespace ? { namespace } : {}),
    labels: { ...labels, ...extra },
    ownerReferences,
  });
  /** Binds discovery's service account to a (Cluster)Role of the same name as the binding. */
  const binding = (roleKind: "Role" | "ClusterRole", name: string, namespace?: string): V1RoleBinding => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: `${roleKind}Binding`,
    metadata: meta(name, namespace),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name },
    subjects: [{ kind: "ServiceAccount", name: DISCOVERY, namespace: ns }],
  });
  const caBundle = b64(ctx.ca.certPem);
  const clusterRole = clusterScopedName(ctx.name, "discovery");
  const selector = { app: DISCOVERY, [MESH_LABEL]: ctx.name };
  const podLabels = { ...selector, "app.kubernetes.io/version": spec.version };

  // Applied in this order. The ConfigMaps come first: a meshConfig or spec.proxy edit changes only them, and
  // discovery and the injector read them as soon as they are written (not after the RBAC and the rest).
  const objects: KubernetesObject[] = [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(MESH_CONFIGMAP, ns),
      data: { mesh: meshConfigText(spec) },
    } as KubernetesObject,
    { ...injectorConfigMap(spec), metadata: meta(INJECTOR_CONFIGMAP, ns) } as KubernetesObject,
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(DISCOVERY, ns) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta(clusterRole),
      rules: [
        {
          apiGroups: [""],
          resources: ["services", "endpoints", "pods", "namespaces", "nodes"],
          verbs: ["get", "list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        { apiGroups: ISTIO_GROUPS, resources: ["*"], verbs: ["get", "list", "watch"] },
        {
          apiGroups: ISTIO_GROUPS,
          resources: ["*/status"],
          verbs: ["update", "patch"],
        },
        { apiGroups: [GROUP], resources: ["meshinstallations"], verbs: ["get", "list", "watch"] },
        // Gateways' credentialName Secrets (kubernetes.io/tls and Opaque, by field selector), as istiod reads them.
        { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
        // The mesh CA checks the sidecars' tokens (audience istio-ca) with the API server, as istiod does.
        { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
        // A gateway gets its namespace's Secrets only if its ServiceAccount may list them (istiod's review).
        { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      ],
    } as KubernetesObject,
    binding("ClusterRole", clusterRole),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(DISCOVERY, ns),
      rules: [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update", "patch"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
      ],
    } as KubernetesObject,
    binding("Role", DISCOVERY, ns),
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(CA_SECRET, ns),
      type: "Opaque",
      data: { "ca-cert.pem": caBundle, "ca-key.pem": b64(ctx.ca.keyPem) },
    } as KubernetesObject,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(DISCOVERY, ns, { app: DISCOVERY }),
      spec: {
        selector,
        ports: [
          { name: "grpc-xds", port: 15010, targetPort: 15010, protocol: "TCP" },
          { name: "https-xds", port: 15012, targetPort: 15012, protocol: "TCP" },
          { name: "http-monitoring", port: 15014, targetPort: 15014, protocol: "TCP" },
          { name: "https-webhook", port: 443, targetPort: 15017, protocol: "TCP" },
        ],
      },
    } as KubernetesObject,
    discoveryDeployment(spec, meta(DISCOVERY, ns, { app: DISCOVERY }), selector, podLabels),
    ...webhooks(spec, ctx, meta, caBundle),
  ];

  return { namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { ...labels } } }, objects };
}

/** weftd signs at most --workload-cert-ttl (24 h): a mesh whose proxies ask for longer certificates raises it. */
function workloadCertTtl(spec: MeshSpec): { "workload-cert-ttl"?: string } {
  const asked = spec.meshConfig.defaultConfig.proxyMetadata.SECRET_TTL;
  const cap = discoveryRole.flags["workload-cert-ttl"].default;
  return asked !== undefined && durationSeconds(asked)! > durationSeconds(cap)! ? { "workload-cert-ttl": asked } : {};
}

function discoveryDeployment(
  spec: MeshSpec,
  metadata: object,
  selector: Record<string, string>,
  podLabels: Record<string, string>,
): KubernetesObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: {
      replicas: spec.discovery.replicas,
      selector: { matchLabels: selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "100%", maxUnavailable: "25%" } },
      template: {
        metadata: { labels: podLabels },
        spec: {
          serviceAccountName: DISCOVERY,
          containers: [
            {
              name: "discovery",
              image: discoveryImage(spec),
              args: commandLine(discoveryRole, {
                namespace: spec.namespace,
                mesh: selector[MESH_LABEL] ?? "",
                ...workloadCertTtl(spec),
              }),
              ports: [15010, 15012, 15014, 15017].map((containerPort) => ({ containerPort, protocol: "TCP" })),
              env: [
                {
                  name: discoveryRole.flags.namespace.env,
                  valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
                },
                {
                  name: discoveryRole.flags["pod-name"].env,
                  valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } },
                },
                ...Object.entries(DISCOVERY_PROCESS_ENV).map(([name, value]) => ({ name, value })),
              ],
              readinessProbe: { httpGet: { path: "/ready", port: 15014 }, periodSeconds: 3 },
              resources: spec.discovery.resources,
              volumeMounts: [{ name: "ca", mountPath: "/etc/weft/ca", readOnly: true }],
            },
          ],
          volumes: [{ name: "ca", secret: { secretName: CA_SECRET } }],
        },
      },
    },
  } as KubernetesObject;
}

function webhooks(
  spec: MeshSpec,
  ctx: RenderContext,
  meta: (name: string) => object,
  caBundle: string,
): KubernetesObject[] {
  const service = (path: string) => ({
    service: { name: DISCOVERY, namespace: spec.namespace, path, port: 443 },
    caBundle,
  });
  const injectFor = (label: string) => ({
    name: `${label.replace(/-injection$/, "")}.sidecar-injector.weft.dev`,
    clientConfig: service("/inject"),
    rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" }],
    namespaceSelector: { matchLabels: { [label]: "enabled" } },
    objectSelector: { matchExpressions: [{ key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] }] },
    failurePolicy: "Fail",
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    reinvocationPolicy: "Never",
    timeoutSeconds: 10,
  });
  const injectLabels = spec.injection.honorIstioLabel ? ["weft-injection", "istio-injection"] : ["weft-injection"];
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: meta(clusterScopedName(ctx.name, "sidecar-injector")),
      webhooks: injectLabels.map(injectFor),
    } as KubernetesObject,
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: meta(clusterScopedName(ctx.name, "validator")),
      webhooks: [
        {
          name: "validation.weft.dev",
          clientConfig: service("/validate"),
          rules: [
            {
              // extensions.istio.io too: WasmPlugins are refused, naming the kind, rather than stored and ignored.
              apiGroups: [...ISTIO_GROUPS, "extensions.istio.io"],
              apiVersions: ["*"],
              operations: ["CREATE", "UPDATE"],
              resources: ["*"],
              scope: "*",
            },
          ],
          // As Istio's default validator: until weftd answers, don't block users' config.
          failurePolicy: "Ignore",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: 10,
        },
      ],
    } as KubernetesObject,
  ];
}
