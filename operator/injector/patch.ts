// The sidecar-injection patch: a pod, its namespace's labels and the injection ConfigMap → the JSON Patch that adds
// the weft-proxy container, or undefined when the pod isn't injected. Pure; Istio's rules (inject.go injectRequired).
import path from "node:path";
import { CA_AUDIENCE } from "../../proxy/xds/ca.js";
import { commandLine, readCommandLine, type Role } from "../api/contract.js";
import {
  carrierRole,
  DEFAULT_ROOT_CERT,
  DEFAULT_TOKEN_FILE,
  initRole,
  proxyRole,
  PROXY_PORTS,
  ROOT_CERT_CONFIGMAP,
} from "../api/roles.js";
import { PROXY_PROCESS_ENV } from "../api/process-env.js";
import { selectorMatches } from "./config.js";
import { INJECTOR_ENV, parseProxyConfig, PROXY_CONFIG } from "./proxy-config.js";
import type { Container, InjectorConfig, InjectorValues, Volume } from "./config.js";

/** The control plane's Service in `namespace`, as injected proxies name it (and the operator finds them by it). */
export const discoveryHost = (namespace: string): string => `weftd.${namespace}.svc`;
export const PROXY_CONTAINER = "weft-proxy";
/** The engine carrier: the container whose image an in-place upgrade changes (operator/install/upgrades.ts). */
export const CARRIER_CONTAINER = "weft-engine-carrier";
/** The emptyDir the carrier fills with engine bundles and the proxy hot-restarts from. */
export const ENGINES_VOLUME = "weft-engines";
export const INIT_CONTAINER = "weft-init";
export const INJECT = "sidecar.istio.io/inject";
export const STATUS = "sidecar.istio.io/status";
export const PROXY_IMAGE = "sidecar.istio.io/proxyImage";
export { PROXY_CONFIG };
export const TEMPLATES = "inject.istio.io/templates";
export const NAMESPACE_LABELS = ["weft-injection", "istio-injection"];
export const IGNORED_NAMESPACES: ReadonlySet<string> = new Set(["kube-system", "kube-public", "kube-node-lease"]);
const READY_PORT = PROXY_PORTS.ready;

/** The sidecar's readiness probe, with Istio's timeout (3 s) and failure threshold (4): on a busy node the
 * kubelet's default 1 s timeout and 3 failures took a healthy pod's only endpoint away. Polled every 2 s (Istio polls
 * every 15 s behind a 1 s startup probe), so a new pod turns Ready as soon as its proxy is. */
export const SIDECAR_READINESS_PROBE = {
  httpGet: { path: "/healthz/ready", port: READY_PORT },
  periodSeconds: 2,
  timeoutSeconds: 3,
  failureThreshold: 4,
};

export interface Pod {
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string }[];
  };
  spec?: {
    hostNetwork?: boolean;
    containers?: { name?: string }[];
    initContainers?: { name?: string }[];
    volumes?: { name?: string }[];
  };
}

export interface PatchOp {
  op: "add";
  path: string;
  value: unknown;
}

export interface InjectContext {
  /** The pod's namespace (the request's, when the pod has none yet). */
  namespace: string;
  namespaceLabels: Record<string, string>;
  /** Where weftd runs: the proxy's discovery and CA address is weftd.<ns>.svc:15012 (xDS over mTLS). */
  discoveryNamespace: string;
}

/** What the agent needs for its identity, at Istio's names and paths: the projected ServiceAccount token (audience
 * istio-ca, 12 h, which the kubelet renews at 80 %) and the mesh root from ConfigMap istio-ca-root-cert. */
export const IDENTITY_VOLUMES = [
  {
    name: "istio-token",
    projected: {
      sources: [{ serviceAccountToken: { audience: CA_AUDIENCE, expirationSeconds: 43200, path: "istio-token" } }],
    },
  },
  { name: "istiod-ca-cert", configMap: { name: ROOT_CERT_CONFIGMAP } },
];
const IDENTITY_MOUNTS = [
  { name: "istiod-ca-cert", mountPath: path.posix.dirname(DEFAULT_ROOT_CERT), readOnly: true },
  { name: "istio-token", mountPath: path.posix.dirname(DEFAULT_TOKEN_FILE), readOnly: true },
];

const truthy = (v: string) => ["y", "yes", "true", "on"].includes(v.toLowerCase());

/** Istio's decision, plus the namespace label the webhook's namespaceSelector would check. */
export function injectionRequired(pod: Pod, ctx: InjectContext, config: InjectorConfig): boolean {
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  if (pod.spec?.hostNetwork) return false;
  if (IGNORED_NAMESPACES.has(ctx.namespace)) return false;
  if (annotations[STATUS] !== undefined) return false;
  if ((pod.spec?.containers ?? []).some((c) => c.name === PROXY_CONTAINER)) return false;
  const nsValues = NAMESPACE_LABELS.map((l) => ctx.namespaceLabels[l]).filter((v): v is string => v !== undefined);
  if (nsValues.includes("disabled")) return false;
  const asked = labels[INJECT] ?? annotations[INJECT]; // the label wins, as in Istio
  if (asked !== undefined && asked !== "") return truthy(asked);
  if (!nsValues.includes("enabled")) return false;
  if (config.neverInjectSelector.some((s) => selectorMatches(s, labels))) return false;
  if (config.alwaysInjectSelector.some((s) => selectorMatches(s, labels))) return true;
  return config.policy === "enabled";
}

/** Istio's rule: an image with a `/` is used as given, a bare name is <hub>/<name>:<tag>. */
export function resolveImage(image: string, values: InjectorValues): string {
  const { hub, tag } = values.global ?? {};
  if (image.includes("/") || !hub) return image;
  return image.includes(":") || !tag ? `${hub}/${image}` : `${hub}/${image}:${tag}`;
}

/** The workload a pod belongs to: its ReplicaSet's Deployment, or its own name. */
function workloadName(pod: Pod): string {
  const meta = pod.metadata ?? {};
  const owner = meta.ownerReferences?.[0];
  if (owner?.kind === "ReplicaSet" && owner.name) return owner.name.replace(/-[^-]+$/, "");
  if (owner?.name) return owner.name;
  return meta.name ?? (meta.generateName ?? "").replace(/-$/, "");
}

/** The templates a pod asks for (inject.istio.io/templates, e.g. "gateway"), else the defaults; an unknown one fails. */
function podTemplates(pod: Pod, config: InjectorConfig): string[] {
  const asked = (pod.metadata?.annotations?.[TEMPLATES] ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of asked)
    if (!config.templates[t])
      throw new Error(`annotation ${TEMPLATES}: no template "${t}" (have ${Object.keys(config.templates).join(", ")})`);
  return asked.length ? asked : config.defaultTemplates;
}

/** A template's command line, read by the role's contract: a flag the command doesn't know fails injection, naming it. */
function templateArgs<R extends Role>(role: R, c: Container, what: string) {
  try {
    return readCommandLine(role, c.args ?? [role.name]);
  } catch (err) {
    throw new Error(`template container ${c.name} args ${JSON.stringify(c.args)}: ${(err as Error).message} (${what})`);
  }
}

export interface Injected {
  container: Container;
  /** The weft-init container, when the template has one. */
  init?: Container;
  /** The engine carrier, when the template has one, on the proxy's image. */
  carrier?: Container;
  /** The templates' volumes (the engines emptyDir). */
  volumes: Volume[];
  image: string;
  binaryPath?: string;
}

/** The weft-proxy container for this pod: the template's, with image, binaryPath, env, resources and probe set. */
export function proxyContainer(pod: Pod, ctx: InjectContext, config: InjectorConfig, values: InjectorValues): Injected {
  const annotations = pod.metadata?.annotations ?? {};
  const names = podTemplates(pod, config);
  const containers = names.flatMap((t) => config.templates[t]?.containers ?? []);
  const template = containers.find((c) => c.name === PROXY_CONTAINER) ?? containers[0] ?? { name: PROXY_CONTAINER };
  const proxy = values.global?.proxy ?? {};
  const image = resolveImage(annotations[PROXY_IMAGE] || proxy.image || template.image || "weft", values);
  // Istio's ProxyConfig annotation, checked: what Weft can't honour refuses the pod (ProxyConfigError).
  const proxyConfig = parseProxyConfig(annotations[PROXY_CONFIG]);
  const binaryPath = proxyConfig.binaryPath ?? proxy.binaryPath;
  const concurrency = proxyConfig.concurrency;
  // One address, as Istio's: the mesh CA and ADS over mTLS with the certificate it issues.
  const discoveryAddress = `${discoveryHost(ctx.discoveryNamespace)}:15012`;
  const given = templateArgs(proxyRole, template, "weft proxy --help lists them");
  const args = commandLine(proxyRole, {
    ...given,
    ...(binaryPath ? { "binary-path": binaryPath } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    "discovery-address": discoveryAddress,
  });
  const fieldRef = (fieldPath: string) => ({ valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } } });
  const f = proxyRole.flags;
  // proxyMetadata: env for the agent, as Istio injects it (SECRET_TTL: 1h for shorter workload certificates), over
  // the template's (the mesh-wide defaultConfig.proxyMetadata), never over the injector's own (parseProxyConfig).
  const metadata = Object.entries(proxyConfig.proxyMetadata ?? {}).map(([name, value]) => ({ name, value }));
  const templateEnv = (template.env ?? []).filter(
    (e) => !INJECTOR_ENV.includes(e.name) && !metadata.some((m) => m.name === e.name),
  );
  // The agent's process defaults (its V8 flags), unless the template sets them (proxyMetadata can't: parseProxyConfig).
  const defaults = Object.entries(PROXY_PROCESS_ENV)
    .filter(([name]) => !templateEnv.some((e) => e.name === name))
    .map(([name, value]) => ({ name, value }));
  const env = [
    ...templateEnv,
    ...defaults,
    ...metadata,
    { name: f["pod-name"].env, ...fieldRef("metadata.name") },
    { name: f["pod-namespace"].env, ...fieldRef("metadata.namespace") },
    { name: f["instance-ip"].env, ...fieldRef("status.podIP") },
    { name: f["discovery-address"].env, value: discoveryAddress },
    { name: f["ca-address"].env, value: discoveryAddress },
    { name: f["service-account"].env, ...fieldRef("spec.serviceAccountName") },
    ...(proxy.restartPolicy ? [{ name: "WEFT_RESTART_POLICY", value: proxy.restartPolicy }] : []),
  ];
  const ports = template.ports ?? [];
  const container: Container = {
    ...template,
    name: PROXY_CONTAINER,
    image,
    args,
    env,
    ports: ports.some((p) => p.containerPort === READY_PORT)
      ? ports
      : [...ports, { containerPort: READY_PORT, name: "http-ready", protocol: "TCP" }],
    volumeMounts: [
      ...((template.volumeMounts as { name: string }[] | undefined) ?? []).filter(
        (m) => !IDENTITY_MOUNTS.some((i) => i.name === m.name),
      ),
      ...IDENTITY_MOUNTS,
    ],
    readinessProbe: template.readinessProbe ?? SIDECAR_READINESS_PROBE,
    ...(proxy.resources !== undefined ? { resources: proxy.resources } : {}),
  };
  const initTemplate = names
    .flatMap((t) => config.templates[t]?.initContainers ?? [])
    .find((c) => c.name === INIT_CONTAINER);
  const init = initTemplate && {
    ...initTemplate,
    image,
    args: commandLine(initRole, templateArgs(initRole, initTemplate, "weft init --help lists them")),
  };
  const carrierTemplate = containers.find((c) => c.name === CARRIER_CONTAINER);
  const carrier = carrierTemplate && {
    ...carrierTemplate,
    image,
    args: commandLine(carrierRole, templateArgs(carrierRole, carrierTemplate, "weft carrier --help lists them")),
  };
  const volumes = names.flatMap((t) => config.templates[t]?.volumes ?? []);
  return {
    container,
    image,
    volumes,
    ...(init ? { init } : {}),
    ...(carrier ? { carrier } : {}),
    ...(binaryPath ? { binaryPath } : {}),
  };
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export const escapePointer = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

/** Adds entries to a map that may not exist yet: one op for the whole map, or one per key. */
function addToMap(
  path: string,
  existing: Record<string, string> | undefined,
  entries: Record<string, string>,
): PatchOp[] {
  if (Object.keys(entries).length === 0) return [];
  if (!existing) return [{ op: "add", path, value: entries }];
  return Object.entries(entries).map(([k, value]) => ({ op: "add", path: `${path}/${escapePointer(k)}`, value }));
}

/** Appends to a list that may not exist yet: one op for the whole list, or one per item. */
function addToList(path: string, existing: unknown[] | undefined, items: unknown[]): PatchOp[] {
  if (items.length === 0) return [];
  if (!existing) return [{ op: "add", path, value: items }];
  return items.map((value) => ({ op: "add", path: `${path}/-`, value }));
}

/** The JSON Patch that injects the sidecar, or undefined when this pod is not injected. */
export function injectionPatch(
  pod: Pod,
  ctx: InjectContext,
  config: InjectorConfig,
  values: InjectorValues,
): PatchOp[] | undefined {
  if (!injectionRequired(pod, ctx, config)) return undefined;
  const { container, init, carrier, volumes, image, binaryPath } = proxyContainer(pod, ctx, config, values);
  const meta = pod.metadata ?? {};
  const labels = meta.labels ?? {};
  const status = {
    ...(init ? { initContainers: [INIT_CONTAINER] } : {}),
    containers: carrier ? [PROXY_CONTAINER, CARRIER_CONTAINER] : [PROXY_CONTAINER],
    image,
    ...(binaryPath ? { binaryPath } : {}),
    templates: podTemplates(pod, config),
    revision: values.revision || "default",
  };
  const newLabels: Record<string, string> = { "security.istio.io/tlsMode": "istio" };
  if (labels["service.istio.io/canonical-name"] === undefined)
    newLabels["service.istio.io/canonical-name"] = labels["app.kubernetes.io/name"] ?? labels.app ?? workloadName(pod);
  if (labels["service.istio.io/canonical-revision"] === undefined)
    newLabels["service.istio.io/canonical-revision"] =
      labels["app.kubernetes.io/version"] ?? labels.version ?? "latest";
  const ops: PatchOp[] = [];
  if (!pod.metadata) ops.push({ op: "add", path: "/metadata", value: {} });
  if (init)
    ops.push(
      pod.spec?.initContainers
        ? { op: "add", path: "/spec/initContainers/-", value: init }
        : { op: "add", path: "/spec/initContainers", value: [init] },
    );
  ops.push(...addToList("/spec/containers", pod.spec?.containers, carrier ? [container, carrier] : [container]));
  const taken = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  for (const v of volumes)
    if (taken.has(v.name)) throw new Error(`the pod has a volume named ${v.name} already: the sidecar needs that name`);
  // Istio's identity volumes: a pod that brings its own (as Istio-ready manifests may) keeps it.
  const identity = IDENTITY_VOLUMES.filter((v) => !taken.has(v.name));
  ops.push(...addToList("/spec/volumes", pod.spec?.volumes, [...volumes, ...identity]));
  ops.push(
    ...addToMap("/metadata/annotations", meta.annotations, {
      ...config.injectedAnnotations,
      [STATUS]: JSON.stringify(status),
    }),
  );
  ops.push(...addToMap("/metadata/labels", meta.labels, newLabels));
  return ops;
}
