// Test support: a small mesh written the way local mode writes it, ServiceEntry + WorkloadEntry on loopback.
import type { KubeObject } from "../../../operator/discovery/model/kube.js";
import { normalise } from "../../../operator/discovery/model/normalise.js";
import type { ConfigModel } from "../../../operator/discovery/model/config.js";
import { parseYaml } from "./bookinfo.js";

export const ECHO_ENTRY = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec:
  hosts: [echo]
  ports: [{ number: 7070, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: echo } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v1 }
spec: { address: 127.0.0.1, ports: { grpc: 7071 }, labels: { app: echo, version: v1 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v2 }
spec: { address: 127.0.0.2, ports: { grpc: 7072 }, labels: { app: echo, version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web }
spec:
  hosts: [web.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.3, ports: { http: 8080 }, labels: { app: web } }]
`;

/** The echo mesh plus extra YAML documents (VirtualServices, DestinationRules…). */
export function meshModel(...yaml: string[]): ConfigModel {
  const objects: KubeObject[] = [ECHO_ENTRY, ...yaml].flatMap(parseYaml);
  return normalise(objects).model;
}

export const ECHO_SUBSETS = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo }
spec:
  host: echo
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;

/** A VirtualService for `web.example.com` with the given http routes (YAML, indented as a list). */
export function webRoutes(http: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web }
spec:
  hosts: [web.example.com]
  http:
${http}`;
}

/** The echo VirtualService splitting traffic between subsets v1 and v2. */
export const echoWeights = (weightV1: number): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo }
spec:
  hosts: [echo]
  http:
  - route:
    - { destination: { host: echo, subset: v1 }, weight: ${weightV1} }
    - { destination: { host: echo, subset: v2 }, weight: ${100 - weightV1} }`;

/** One more v1 endpoint for echo. */
export const ECHO_V3 = `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v3 }
spec: { address: 127.0.0.4, ports: { grpc: 7073 }, labels: { app: echo, version: v1 } }`;

/** One more v2 endpoint. */
export const ECHO_V4 = `
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v4 }
spec: { address: 127.0.0.6, ports: { grpc: 7074 }, labels: { app: echo, version: v2 } }`;

/** A ServiceEntry `zoned.example:80` (HTTP, STATIC) whose endpoints `rest` gives (`workloadSelector` or `endpoints`). */
export function zonedEntry(rest: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: zoned }
spec:
  hosts: [zoned.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
${rest}
---`;
}

/** A STATIC ServiceEntry for `host`, port 80 (HTTP), served on 127.0.0.1:`port`. */
export const loopbackEntry = (name: string, host: string, port: number, namespace?: string) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}${namespace ? `, namespace: ${namespace}` : ""} }
spec:
  hosts: [${host}]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
`;

/** An app at 127.0.0.1:`port` (ServiceEntry app.internal), and a VirtualService binding `hosts` to Gateway `gateway`. */
export const appBehindGateway = (port: number, hosts: string[], gateway = "edge") => `
---${loopbackEntry("app", "app.internal", port, "default")}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: default }
spec:
  hosts: ${JSON.stringify(hosts)}
  gateways: [${gateway}]
  http: [{ route: [{ destination: { host: app.internal } }] }]
`;

/**
 * Gateway `edge` in `namespace`: one HTTPS server on `port` for shop.example.com, its certificate from Secret
 * shop-cert; and the app at 127.0.0.1:`appPort` behind it (ServiceEntry app.internal, VirtualService shop), all in
 * `namespace`.
 */
export const shopGateway = (port: number, namespace: string, appPort: number) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: ${namespace} }
spec:
  servers:
  - port: { number: ${port}, name: https, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: SIMPLE, credentialName: shop-cert }
---${loopbackEntry("app", "app.internal", appPort, namespace)}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: ${namespace} }
spec:
  hosts: [shop.example.com]
  gateways: [edge]
  http: [{ route: [{ destination: { host: app.internal } }] }]
`;

/** A Kubernetes Secret's YAML, its `data` base64-encoded from `data` (or given as stringData). */
export function secretYaml(
  name: string,
  namespace: string,
  data: Record<string, string>,
  opts: { type?: string; stringData?: boolean } = {},
): string {
  const values = Object.entries(data).map(([k, v]) =>
    opts.stringData
      ? `${JSON.stringify(k)}: ${JSON.stringify(v)}`
      : `${JSON.stringify(k)}: ${Buffer.from(v).toString("base64")}`,
  );
  return `---
apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
${opts.type ? `type: ${opts.type}\n` : ""}${opts.stringData ? "stringData" : "data"}: { ${values.join(", ")} }
`;
}
