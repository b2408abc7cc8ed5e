// What a proxy sees: Istio's host matching, Sidecar precedence and imports, and exportTo (cases after istio/istio's
// pilot/pkg/model/sidecar_test.go and host/name_test.go).
import { normalise } from "../model/normalise.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { hostSubsetOf, hostsOverlap, parseEgressHost, proxyScope, sidecarFor, sidecarWarnings } from "./scope.js";

/** A Kubernetes Service `name` in `ns` on port 9080 (annotations optional), as YAML. */
const svc = (name: string, ns: string, annotations = ""): string => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns}${annotations ? `, annotations: { ${annotations} }` : ""} }
spec: { clusterIP: 10.96.0.1, ports: [{ name: http, port: 9080 }] }
---`;
const sidecar = (name: string, ns: string, spec: string, created = "2026-01-01T00:00:00Z"): string => `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: ${name}, namespace: ${ns}, creationTimestamp: "${created}" }
spec: ${spec}
---`;
const model = (yaml: string) => normalise(parseYaml(yaml)).model;
const hostnames = (m: ReturnType<typeof model>, ns: string, labels: Record<string, string> = {}): string[] =>
  proxyScope(m, "sidecar", ns, labels).services.map((s) => s.hostname);
const SERVICES = [svc("reviews", "default"), svc("details", "default"), svc("db", "data"), svc("api", "shop")].join("");
const fq = (name: string, ns: string): string => `${name}.${ns}.svc.cluster.local`;

describe("host matching (Istio's host.Name)", () => {
  it.each([
    ["foo.com", "foo.com", true],
    ["foo.com", "bar.com", false],
    ["foo.com", "*.com", true],
    ["a.foo.com", "*.foo.com", true],
    ["foo.com", "*.foo.com", false],
    ["*.foo.com", "*.com", true],
    ["*.com", "*.foo.com", false],
    ["*", "*", true],
    ["anything.example", "*", true],
    ["*", "*.com", false],
    ["*.com", "foo.com", false],
  ])("%s is a subset of %s: %s", (host, pattern, expected) => {
    expect(hostSubsetOf(host, pattern)).toBe(expected);
  });

  it("overlaps in either direction, as VirtualService hosts are imported", () => {
    expect(hostsOverlap("*.com", "foo.com")).toBe(true);
    expect(hostsOverlap("foo.com", "*.com")).toBe(true);
    expect(hostsOverlap("foo.org", "*.com")).toBe(false);
  });

  it.each([
    ["./*", { namespace: ".", dnsName: "*", excluded: false }],
    [
      "*/reviews.default.svc.cluster.local",
      { namespace: "*", dnsName: "reviews.default.svc.cluster.local", excluded: false },
    ],
    ["~/*", { namespace: "*", dnsName: "*", excluded: true }],
    ["~shop/api.shop.svc.cluster.local", { namespace: "shop", dnsName: "api.shop.svc.cluster.local", excluded: true }],
    ["reviews", undefined],
    ["a/b/c", undefined],
  ])("parses the egress host %s", (host, expected) => {
    expect(parseEgressHost(host)).toEqual(expected);
  });
});

describe("which Sidecar applies", () => {
  const m = model(
    [
      sidecar("root", "istio-system", "{ egress: [{ hosts: ['./*'] }] }"),
      sidecar(
        "root-selected",
        "istio-system",
        "{ workloadSelector: { labels: { app: db } }, egress: [{ hosts: ['*/*'] }] }",
      ),
      sidecar("newer", "default", "{ egress: [{ hosts: ['*/*'] }] }", "2026-02-01T00:00:00Z"),
      sidecar("older", "default", "{ egress: [{ hosts: ['./*'] }] }", "2026-01-15T00:00:00Z"),
      sidecar(
        "ratings",
        "default",
        "{ workloadSelector: { labels: { app: ratings } }, egress: [{ hosts: ['data/*'] }] }",
      ),
    ].join(""),
  );

  it("prefers the namespace's Sidecar whose workloadSelector matches, then its Sidecar without one, then the root's", () => {
    expect(sidecarFor(m, "default", { app: "ratings", version: "v1" })?.name).toBe("ratings");
    expect(sidecarFor(m, "default", { app: "reviews" })?.name).toBe("older");
    expect(sidecarFor(m, "shop", { app: "api" })?.name).toBe("root");
  });

  it("applies a root namespace Sidecar with a workloadSelector only in the root namespace", () => {
    expect(sidecarFor(m, "data", { app: "db" })?.name).toBe("root");
    expect(sidecarFor(m, "istio-system", { app: "db" })?.name).toBe("root-selected");
  });

  it("applies the oldest of two Sidecars without a selector in a namespace, and warns about the other", () => {
    expect(sidecarWarnings(m)).toEqual([
      "Sidecar/default/newer: ignored: namespace default has more than one Sidecar without a workloadSelector, and the oldest (older) applies",
    ]);
  });

  it("takes the mesh config's rootNamespace", () => {
    const withRoot = { ...m, mesh: { rootNamespace: "default" } as never };
    expect(sidecarFor(withRoot, "shop", {})?.name).toBe("older");
    expect(sidecarFor(model(SERVICES), "default", {})).toBeUndefined();
  });
});

describe("what a Sidecar imports", () => {
  it("imports everything without a Sidecar", () => {
    expect(hostnames(model(SERVICES), "default")).toHaveLength(4);
  });

  it("imports everything with a Sidecar that has no egress (one that only sets outboundTrafficPolicy), as Istio", () => {
    const m = model(SERVICES + sidecar("s", "default", "{ outboundTrafficPolicy: { mode: REGISTRY_ONLY } }"));
    expect(hostnames(m, "default")).toHaveLength(4);
  });

  it("imports its own namespace with ./*, and a root namespace Sidecar's ./ is each workload's namespace", () => {
    const m = model(SERVICES + sidecar("default", "istio-system", "{ egress: [{ hosts: ['./*'] }] }"));
    expect(hostnames(m, "default")).toEqual([fq("details", "default"), fq("reviews", "default")]);
    expect(hostnames(m, "shop")).toEqual([fq("api", "shop")]);
  });

  it("imports by namespace and by name, with wildcards, and excludes ~ hosts", () => {
    const spec = `{ egress: [{ hosts: ['./*', '~./details.default.svc.cluster.local', 'data/*', '*/api.shop.svc.cluster.local'] }] }`;
    const m = model(SERVICES + sidecar("s", "default", spec));
    expect(hostnames(m, "default")).toEqual([fq("api", "shop"), fq("db", "data"), fq("reviews", "default")]);
    const none = model(SERVICES + sidecar("s", "default", "{ egress: [{ hosts: ['~/*'] }] }"));
    expect(hostnames(none, "default")).toEqual([]);
  });

  it("brings along what an imported mesh VirtualService routes to, and applies only imported VirtualServices", () => {
    const vs = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: db.data.svc.cluster.local } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api.shop.svc.cluster.local]
  http: [{ route: [{ destination: { host: api } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: default }
spec:
  hosts: [reviews]
  gateways: [ingress]
  http: [{ route: [{ destination: { host: api.shop.svc.cluster.local } }] }]
---`;
    const m = model(
      SERVICES + vs + sidecar("s", "default", "{ egress: [{ hosts: ['./reviews.default.svc.cluster.local'] }] }"),
    );
    const scope = proxyScope(m, "sidecar", "default", {});
    expect(scope.services.map((s) => s.hostname)).toEqual([fq("db", "data"), fq("reviews", "default")]);
    // The gateway's VirtualService (edge) neither applies to a sidecar nor brings api along.
    expect(m.virtualServices.map((v) => scope.virtualService(v))).toEqual([true, false, false]);
  });

  it("decides a changed VirtualService again in the next model, the same Sidecar object deciding the rest", () => {
    const vs = (host: string): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r, namespace: default }
spec:
  hosts: [${host}]
  http: [{ route: [{ destination: { host: db.data.svc.cluster.local } }] }]
---`;
    const before = model(
      SERVICES +
        vs("reviews") +
        sidecar("s", "default", "{ egress: [{ hosts: ['./reviews.default.svc.cluster.local'] }] }"),
    );
    expect(hostnames(before, "default")).toEqual([fq("db", "data"), fq("reviews", "default")]);
    // The next model keeps the Sidecar and the services (as the sources keep unchanged objects); the VirtualService
    // now names details, which the Sidecar doesn't import, so neither it nor its destination comes along.
    const after = model(SERVICES + vs("details"));
    const next = { ...after, services: before.services, sidecars: before.sidecars };
    const scope = proxyScope(next, "sidecar", "default", {});
    expect(scope.services.map((s) => s.hostname)).toEqual([fq("reviews", "default")]);
    expect(next.virtualServices.map((v) => scope.virtualService(v))).toEqual([false]);
  });

  it("picks the proxy's namespace's service when two namespaces have the same hostname", () => {
    const entry = (ns: string): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: ${ns} }
spec: { hosts: [api.example.com], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: DNS }
---`;
    const m = model(entry("shop") + entry("default") + sidecar("s", "default", "{ egress: [{ hosts: ['*/*'] }] }"));
    expect(proxyScope(m, "sidecar", "default", {}).services.map((s) => s.namespace)).toEqual(["default"]);
  });

  it("keeps one service per hostname without a Sidecar too (two clusters of one name would NACK all of CDS)", () => {
    const entry = (name: string, ns: string, hosts = "[api.example.com]"): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${ns} }
spec: { hosts: ${hosts}, ports: [{ number: 80, name: http, protocol: HTTP }], resolution: DNS }
---`;
    const m = model(entry("a", "shop") + entry("b", "default") + entry("c", "default", "[twice.io, twice.io]"));
    for (const kind of ["sidecar", "router"] as const) {
      const scope = proxyScope(m, kind, "default", {});
      expect(scope.services.map((s) => `${s.namespace}/${s.hostname}`)).toEqual([
        "default/api.example.com",
        "default/twice.io",
      ]);
    }
    expect(proxyScope(m, "sidecar", "shop", {}).services.map((s) => s.namespace)).toEqual(["shop", "default"]);
  });

  it("keeps gateways unscoped by Sidecars", () => {
    const m = model(SERVICES + sidecar("s", "default", "{ egress: [{ hosts: ['./*'] }] }"));
    expect(proxyScope(m, "router", "default", {}).services).toHaveLength(4);
    expect(proxyScope(m, "router", "default", {}).key).toBe("");
  });
});

describe("exportTo", () => {
  it("hides a service from namespaces it isn't exported to (ServiceEntry exportTo, the Service annotation)", () => {
    const m = model(
      svc("private", "shop", `networking.istio.io/exportTo: "."`) +
        svc("partner", "shop", `networking.istio.io/exportTo: "default, data"`) +
        svc("hidden", "shop", `networking.istio.io/exportTo: "~"`) +
        svc("public", "shop"),
    );
    // A list of namespaces is the whole list: the Service's own namespace only when named (or ".").
    expect(hostnames(m, "shop")).toEqual([fq("private", "shop"), fq("public", "shop")]);
    expect(hostnames(m, "default")).toEqual([fq("partner", "shop"), fq("public", "shop")]);
    expect(hostnames(m, "other")).toEqual([fq("public", "shop")]);
    expect(proxyScope(m, "router", "other", {}).services.map((s) => s.hostname)).toEqual([fq("public", "shop")]);
  });

  it("applies a VirtualService only where it is exported", () => {
    const m = model(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r, namespace: default }
spec: { hosts: [reviews], exportTo: ["."], http: [{ route: [{ destination: { host: reviews } }] }] }
`);
    const [vs] = m.virtualServices;
    expect(proxyScope(m, "sidecar", "default", {}).virtualService(vs!)).toBe(true);
    expect(proxyScope(m, "sidecar", "shop", {}).virtualService(vs!)).toBe(false);
  });
});
