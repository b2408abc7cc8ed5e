// The sidecar-injection ConfigMap, shaped like Istio's istio-sidecar-injector: key
// `config` (policy, selectors, the sidecar template) and key `values` (JSON: global.hub,
// global.tag, global.proxy.image, plus Weft's binaryPath and restartPolicy). Pure.
import { stringify } from "yaml";
import { commandLine } from "../api/contract.js";
import { initRole, PROXY_PORTS, PROXY_UID, proxyRole } from "../api/roles.js";
import type { MeshSpec } from "../api/types.js";
import type { EngineTarget } from "../../proxy/xds/engine.js";

/** The init container that captures the pod's traffic (Istio's istio-init): root, with NET_ADMIN and NET_RAW only. */
export function initContainer(image: string) {
  return {
    name: "weft-init",
    image,
    args: commandLine(initRole, {
      "outbound-port": PROXY_PORTS.outbound,
      "inbound-port": PROXY_PORTS.inbound,
      "proxy-uid": PROXY_UID,
      "proxy-gid": PROXY_UID,
      "exclude-inbound-ports": [PROXY_PORTS.stats, PROXY_PORTS.ready, PROXY_PORTS.agent].join(","),
    }),
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    },
  };
}

/** The proxy image: spec.proxy.image as given, else <hub>/weft:<tag, or the version>. */
export function proxyImage(spec: MeshSpec): string {
  return spec.proxy.image ?? `${spec.hub}/weft:${spec.proxy.tag ?? spec.version}`;
}

/** The engine the mesh's proxies should run: the proxy image's version (its tag) and binaryPath. */
export function desiredEngine(spec: MeshSpec): EngineTarget {
  const ref = proxyImage(spec).split("@")[0] ?? "";
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const tag = colon > slash ? ref.slice(colon + 1) : (spec.proxy.tag ?? spec.version);
  return { version: tag, binaryPath: spec.proxy.binaryPath };
}

export function injectorValues(spec: MeshSpec) {
  return {
    global: {
      hub: spec.hub,
      tag: spec.proxy.tag ?? spec.version,
      proxy: {
        image: proxyImage(spec),
        binaryPath: spec.proxy.binaryPath,
        restartPolicy: spec.proxy.restartPolicy,
        resources: spec.proxy.resources,
      },
      meshID: "weft",
    },
    revision: "",
  };
}

function proxy(spec: MeshSpec, args: string[]) {
  return {
    name: "weft-proxy",
    image: proxyImage(spec),
    args,
    ports: [{ containerPort: PROXY_PORTS.stats, name: "http-envoy-prom", protocol: "TCP" }],
    readinessProbe: { httpGet: { path: "/healthz/ready", port: PROXY_PORTS.ready }, periodSeconds: 2 },
    resources: spec.proxy.resources,
    // The UID weft init exempts from capture: the proxy's own connections are never redirected back to it.
    securityContext: {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
}

export function injectorConfigMap(spec: MeshSpec) {
  const config = {
    policy: spec.injection.policy === "Enabled" ? "enabled" : "disabled",
    alwaysInjectSelector: [],
    neverInjectSelector: [],
    injectedAnnotations: {},
    defaultTemplates: ["sidecar"],
    templates: {
      sidecar: stringify({
        initContainers: [initContainer(proxyImage(spec))],
        containers: [
          proxy(
            spec,
            commandLine(proxyRole, {
              type: "sidecar",
              "interception-mode": "REDIRECT",
              "binary-path": spec.proxy.binaryPath,
            }),
          ),
        ],
      }),
      // Istio's gateway template (a Deployment's pods annotated inject.istio.io/templates: gateway): the proxy
      // as the pod's only job, a router with its listeners bound as served, no capture.
      gateway: stringify({
        containers: [
          proxy(
            spec,
            commandLine(proxyRole, {
              type: "router",
              "interception-mode": "REDIRECT",
              "binary-path": spec.proxy.binaryPath,
            }),
          ),
        ],
      }),
    },
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    data: { config: stringify(config), values: JSON.stringify(injectorValues(spec), null, 2) },
  };
}
