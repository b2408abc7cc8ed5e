// The sidecar-injection ConfigMap, shaped like Istio's istio-sidecar-injector: key
// `config` (policy, selectors, the sidecar template) and key `values` (JSON: global.hub,
// global.tag, global.proxy.image, plus Weft's binaryPath and restartPolicy). Pure.
import { stringify } from "yaml";
import { commandLine } from "../api/contract.js";
import { carrierRole, initRole, PROXY_PORTS, PROXY_UID, proxyRole } from "../api/roles.js";
import { CARRIER_CONTAINER, ENGINES_VOLUME, SIDECAR_READINESS_PROBE } from "../injector/patch.js";
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

/** Where the pod's engine bundles are: an emptyDir the carrier writes and the proxy only reads. */
const ENGINES_DIR = carrierRole.flags["engines-dir"].default;

/** The engine carrier (proxy/carrier/carrier.ts): copies its image's engine into the engines volume, then waits. Its
 * image is the one thing the operator changes on a running pod (upgrades.ts); the kubelet restarts it alone. */
export function carrierContainer(image: string) {
  return {
    name: CARRIER_CONTAINER,
    image,
    args: commandLine(carrierRole, { "engines-dir": ENGINES_DIR }),
    volumeMounts: [{ name: ENGINES_VOLUME, mountPath: ENGINES_DIR }],
    // Node at rest: about 45 MB resident, no CPU once the copy (under a megabyte) is done.
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
}

function proxy(spec: MeshSpec, args: string[]) {
  return {
    name: "weft-proxy",
    image: proxyImage(spec),
    args,
    // Hot restarts take engines from here only (proxy/agent/engines.ts); the proxy can't write it.
    env: [{ name: proxyRole.flags["engines-dir"].env, value: ENGINES_DIR }],
    volumeMounts: [{ name: ENGINES_VOLUME, mountPath: ENGINES_DIR, readOnly: true }],
    ports: [{ containerPort: PROXY_PORTS.stats, name: "http-envoy-prom", protocol: "TCP" }],
    readinessProbe: SIDECAR_READINESS_PROBE,
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

const engineVolume = { name: ENGINES_VOLUME, emptyDir: {} };

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
              concurrency: spec.meshConfig.defaultConfig?.concurrency,
            }),
          ),
          carrierContainer(proxyImage(spec)),
        ],
        volumes: [engineVolume],
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
              concurrency: spec.meshConfig.defaultConfig?.concurrency,
            }),
          ),
          carrierContainer(proxyImage(spec)),
        ],
        volumes: [engineVolume],
      }),
    },
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    data: { config: stringify(config), values: JSON.stringify(injectorValues(spec), null, 2) },
  };
}
