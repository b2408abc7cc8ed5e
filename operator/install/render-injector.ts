// The sidecar-injection ConfigMap, shaped like Istio's istio-sidecar-injector: key
// `config` (policy, selectors, the sidecar template) and key `values` (JSON: global.hub,
// global.tag, global.proxy.image, plus Weft's binaryPath and restartPolicy). Pure.
import { stringify } from "yaml";
import type { MeshSpec } from "../api/types.js";
import type { EngineTarget } from "../../proxy/xds/engine.js";

/** The proxy image: spec.proxy.image as given, else <hub>/weft:<tag, or the version>. */
export function proxyImage(spec: MeshSpec): string {
  return spec.proxy.image ?? `${spec.hub}/weft:${spec.proxy.tag ?? spec.version}`;
}

/** The engine the mesh's proxies should run: the proxy image's version (its tag) and binaryPath. */
export function desiredEngine(spec: MeshSpec): EngineTarget {
  const ref = proxyImage(spec).split("@")[0] ?? "";
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const tag = colon > slash ? ref.slice(colon + 1) : spec.proxy.tag ?? spec.version;
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

export function injectorConfigMap(spec: MeshSpec) {
  const config = {
    policy: spec.injection.policy === "Enabled" ? "enabled" : "disabled",
    alwaysInjectSelector: [],
    neverInjectSelector: [],
    injectedAnnotations: {},
    defaultTemplates: ["sidecar"],
    templates: {
      sidecar: stringify({
        containers: [
          {
            name: "weft-proxy",
            image: proxyImage(spec),
            args: ["proxy", "sidecar", "--binary-path", spec.proxy.binaryPath],
            ports: [{ containerPort: 15090, name: "http-envoy-prom", protocol: "TCP" }],
            readinessProbe: { httpGet: { path: "/healthz/ready", port: 15021 }, periodSeconds: 2 },
            resources: spec.proxy.resources,
          },
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
