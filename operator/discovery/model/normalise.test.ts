import { bookinfoKube, parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { ECHO_ENTRY } from "../../../test/support/discovery/mesh.js";
import { protoDuration } from "./duration.js";
import { normalise, portProtocol } from "./normalise.js";

describe("normalise", () => {
  it("turns Services + EndpointSlices + Pods into services with labelled endpoints", () => {
    const { model, warnings } = normalise(bookinfoKube());
    expect(warnings).toEqual([]);
    const reviews = model.services.find((s) => s.hostname === "reviews.default.svc.cluster.local");
    expect(reviews).toMatchObject({
      namespace: "default",
      addresses: ["10.96.0.12"],
      ports: [{ name: "http", number: 9080, protocol: "HTTP", targetPort: 9080 }],
      resolution: "STATIC",
    });
    expect(reviews?.endpoints.map((e) => [e.address, e.labels["version"], e.ports["http"]])).toEqual([
      ["10.0.0.12", "v1", 9080],
      ["10.0.0.13", "v2", 9080],
      ["10.0.0.14", "v3", 9080],
    ]);
    expect(model.workloads).toHaveLength(6);
  });

  it("skips endpoints that are not ready, and falls back to Pods by selector without slices", () => {
    const objects = bookinfoKube().filter((o) => o.kind !== "EndpointSlice");
    const details = normalise(objects).model.services.find((s) => s.hostname.startsWith("details."));
    expect(details?.endpoints.map((e) => e.address)).toEqual(["10.0.0.11"]);
    const notReady = bookinfoKube().map((o) =>
      o.kind === "EndpointSlice"
        ? {
            ...o,
            endpoints: (o.endpoints as { conditions: object }[]).map((e) => ({ ...e, conditions: { ready: false } })),
          }
        : o,
    );
    expect(normalise(notReady).model.services.every((s) => s.endpoints.length === 0)).toBe(true);
  });

  it("keeps a not-ready endpoint while its pod's own status says it serves: its carrier restarting, or the slice behind", () => {
    const web = (carrierReady: boolean, appReady: boolean, deleting = false) =>
      parseYaml(`
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-x, labels: { kubernetes.io/service-name: web } }
ports: [{ name: http, port: 8080 }]
endpoints:
  - addresses: [10.1.1.1]
    conditions: { ready: false, terminating: ${deleting} }
    targetRef: { kind: Pod, name: web-0 }
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, labels: { app: web }${deleting ? ", deletionTimestamp: 2026-01-01T00:00:00Z" : ""} }
status:
  podIP: 10.1.1.1
  containerStatuses:
    - { name: web, ready: ${appReady} }
    - { name: weft-proxy, ready: true }
    - { name: weft-engine-carrier, ready: ${carrierReady} }`);
    const addresses = (objects: ReturnType<typeof parseYaml>) =>
      normalise(objects).model.services[0]?.endpoints.map((e) => e.address);
    // The carrier restarts (an in-place proxy upgrade): the app and its proxy are ready.
    expect(addresses(web(false, true))).toEqual(["10.1.1.1"]);
    // The pod is ready again and its slice not yet written (the EndpointSlice controller is behind).
    expect(addresses(web(true, true))).toEqual(["10.1.1.1"]);
    // Anything else that isn't ready, or a pod going away, drops it as before.
    expect(addresses(web(false, false))).toEqual([]);
    expect(addresses(web(true, false))).toEqual([]);
    expect(addresses(web(false, true, true))).toEqual([]);
    // A readiness gate that isn't True (a load balancer's, say) is the pod's own say too.
    const gated = web(true, true).map((o) =>
      o.kind === "Pod"
        ? {
            ...o,
            spec: { readinessGates: [{ conditionType: "example.com/lb" }] },
            status: { ...(o.status as object), conditions: [{ type: "example.com/lb", status: "False" }] },
          }
        : o,
    );
    expect(addresses(gated)).toEqual([]);
  });

  it("resolves a named targetPort through the selected Pods' container ports", () => {
    const { model } = normalise(
      parseYaml(`
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: web-port }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, labels: { app: web } }
spec: { containers: [{ ports: [{ name: web-port, containerPort: 8080 }] }] }
status: { podIP: 10.1.1.1 }`),
    );
    expect(model.services[0]?.endpoints).toEqual([
      {
        address: "10.1.1.1",
        ports: { http: 8080 },
        labels: { app: "web" },
        serviceAccount: "default",
        workload: { name: "web-0", namespace: "default" },
      },
    ]);
  });

  it("turns a ServiceEntry and the WorkloadEntries it selects into one service, whatever the API version", () => {
    const { model } = normalise(
      parseYaml(ECHO_ENTRY.replaceAll("networking.istio.io/v1\n", "networking.istio.io/v1alpha3\n")),
    );
    const echo = model.services.find((s) => s.hostname === "echo");
    expect(echo).toMatchObject({ namespace: "default", ports: [{ name: "grpc", number: 7070, protocol: "GRPC" }] });
    expect(echo?.endpoints.map((e) => `${e.address}:${e.ports["grpc"]}:${e.labels["version"]}`)).toEqual([
      "127.0.0.1:7071:v1",
      "127.0.0.2:7072:v2",
    ]);
    expect(model.services.find((s) => s.hostname === "web.example.com")?.endpoints).toHaveLength(1);
  });

  it("collects VirtualServices, DestinationRules, Gateways and Sidecars of every served version, and reports the rest", () => {
    const { model, warnings } = normalise(
      parseYaml(`
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: a, namespace: shop }
spec: { hosts: [a] }
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: { name: a }
spec: { host: a }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: g }
spec: {}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: s }
spec: {}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: e }
spec: {}
`),
    );
    expect(model.virtualServices).toEqual([{ name: "a", namespace: "shop", spec: { hosts: ["a"] } }]);
    expect(model.destinationRules[0]?.namespace).toBe("default");
    expect(model.gateways).toHaveLength(1);
    expect(model.sidecars).toEqual([{ name: "s", namespace: "default", spec: {} }]);
    expect(warnings).toEqual(["EnvoyFilter/default/e: unsupported kind ignored"]);
  });
});

it("keeps the last of several objects with one kind, namespace and name, and says so", () => {
  const vs = (weight: number): string =>
    `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: reviews }\nspec: { hosts: [reviews], http: [{ route: [{ destination: { host: reviews }, weight: ${weight} }] }] }\n---\n`;
  const { model, warnings } = normalise(parseYaml(vs(1) + vs(2)));
  expect(model.virtualServices).toHaveLength(1);
  expect(model.virtualServices[0]?.spec.http?.[0]?.route?.[0]?.weight).toBe(2);
  expect(warnings).toEqual(["VirtualService/default/reviews is defined more than once; the last one wins"]);
});

describe("portProtocol", () => {
  it.each([
    ["http", undefined, "TCP", "HTTP"],
    ["http-web", undefined, "TCP", "HTTP"],
    ["grpc", undefined, undefined, "GRPC"],
    ["http2-x", undefined, undefined, "HTTP2"],
    ["web", "http", "TCP", "HTTP"],
    ["web", undefined, "TCP", "UNKNOWN"],
    ["x", undefined, "GRPC", "GRPC"],
  ])("name %s, appProtocol %s, protocol %s → %s", (name, app, declared, expected) => {
    expect(portProtocol(name, app, declared)).toBe(expected);
  });
});

describe("protoDuration", () => {
  it.each([
    ["1.5s", "1.5s"],
    ["30ms", "0.03s"],
    ["1m", "60s"],
    ["1h30m", "5400s"],
    ["0s", "0s"],
    ["bogus", "bogus"],
  ])("%s → %s", (input, output) => {
    expect(protoDuration(input)).toBe(output);
  });
});
