// DestinationRule workloadSelector, as istiod selects rules for a proxy: a rule with a selector applies to its own
// namespace's workloads whose labels match (before any rule without one), and to no one else.
import type { Cluster } from "../../../proxy/xds/resources.js";
import { meshModel, secretYaml } from "../../../test/support/discovery/mesh.js";
import { parseNodeId, translate } from "./index.js";

/** A workload (a proxy's labels, found by its node id's name and namespace). */
const entry = (name: string, ns: string, ip: string, labels: string) => `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: ${ns} }
spec: { address: ${ip}, labels: { ${labels} } }`;

const workloads = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: pay, namespace: shop }
spec:
  hosts: [pay.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 10.9.0.1, labels: { version: v1 } }]
${entry("a-0", "shop", "10.0.0.1", "app: a")}
${entry("b-0", "shop", "10.0.0.2", "app: b")}
${entry("a-0", "other", "10.0.0.3", "app: a")}
${entry("egress-0", "shop", "10.0.0.4", "app: a, istio: egressgateway")}
`;

/** The rule for app=a only: TLS origination and one connection; and the namespace's rule for everyone. */
const rules = (plainExportTo = "") => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-a, namespace: shop }
spec:
  host: pay.example
  workloadSelector: { matchLabels: { app: a } }
  trafficPolicy:
    tls: { mode: SIMPLE, sni: pay.example }
    connectionPool: { tcp: { maxConnections: 1 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay, namespace: shop }
spec:
  host: pay.example
  ${plainExportTo}
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
  subsets: [{ name: v1, labels: { version: v1 } }]
`;

const node = (kind: string, name: string, ns: string, ip: string) =>
  `${kind}~${ip}~${name}.${ns}~${ns}.svc.cluster.local`;
const A = node("sidecar", "a-0", "shop", "10.0.0.1");
const B = node("sidecar", "b-0", "shop", "10.0.0.2");

function clustersOf(id: string, ...yaml: string[]): Map<string, Cluster> {
  const out = translate(meshModel(workloads, ...yaml), parseNodeId(id));
  return new Map(out.clusters.map((c) => [c.name ?? "", c]));
}
const pay = (cs: Map<string, Cluster>, subset = "") => cs.get(`outbound|80|${subset}|pay.example`);
const sniOf = (c: Cluster | undefined) => JSON.stringify(c?.transport_socket ?? null).match(/"sni":"([^"]+)"/)?.[1];

describe("DestinationRule workloadSelector", () => {
  it("two sidecars of a namespace get different policies for the same host: app=a the selector rule's, app=b the namespace's", () => {
    const a = pay(clustersOf(A, rules()));
    const b = pay(clustersOf(B, rules()));
    expect(sniOf(a)).toBe("pay.example");
    expect(a?.circuit_breakers?.thresholds?.[0]?.max_connections).toBe(1);
    expect(a?.lb_policy).toBe("LEAST_REQUEST");
    expect(b?.transport_socket).toBeUndefined();
    expect(b?.lb_policy).toBe("ROUND_ROBIN");
  });

  it("never reaches another namespace's workloads, whatever their labels", () => {
    const other = pay(clustersOf(node("sidecar", "a-0", "other", "10.0.0.3"), rules()));
    expect(other?.transport_socket).toBeUndefined();
    expect(other?.lb_policy).toBe("ROUND_ROBIN");
  });

  it("a gateway elsewhere gets the rule without a selector; one of the namespace whose labels match gets the selector's, as istiod", () => {
    const elsewhere = pay(clustersOf(node("router", "gw-0", "istio-system", "10.0.0.9"), rules()));
    expect(elsewhere?.transport_socket).toBeUndefined();
    expect(elsewhere?.lb_policy).toBe("ROUND_ROBIN");
    const selected = pay(clustersOf(node("router", "egress-0", "shop", "10.0.0.4"), rules()));
    expect(sniOf(selected)).toBe("pay.example");
  });

  it("takes the namespace rule's subsets (not its policy) when that rule's exportTo lists '.', as istiod merges them", () => {
    const merged = clustersOf(A, rules('exportTo: ["."]'));
    expect(sniOf(pay(merged, "v1"))).toBe("pay.example");
    expect(pay(merged)?.lb_policy).toBe("LEAST_REQUEST");
    // istiod's enhanced merge (its default) leaves a rule without exportTo unmerged: no v1 cluster for app=a.
    expect(pay(clustersOf(A, rules()), "v1")).toBeUndefined();
    // The namespace's other workloads keep that rule (istio/istio#58322 would leave them none).
    expect(pay(clustersOf(B, rules('exportTo: ["."]')), "v1")?.lb_policy).toBe("ROUND_ROBIN");
  });

  it("a workload no selector rule matches falls back to the service namespace's rule", () => {
    const selectorOnly = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-a, namespace: client }
spec:
  host: pay.example
  workloadSelector: { matchLabels: { app: a } }
  trafficPolicy: { tls: { mode: SIMPLE } }
${entry("b-0", "client", "10.0.0.5", "app: b")}
`;
    const b = pay(clustersOf(node("sidecar", "b-0", "client", "10.0.0.5"), selectorOnly, rules()));
    expect(b?.lb_policy).toBe("ROUND_ROBIN");
    expect(b?.transport_socket).toBeUndefined();
  });

  it("of two selector rules matching a workload, the oldest applies", () => {
    const newer = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-a-newer, namespace: shop, creationTimestamp: "2024-02-01T00:00:00Z" }
spec:
  host: pay.example
  workloadSelector: { matchLabels: { app: a } }
  trafficPolicy: { tls: { mode: SIMPLE, sni: newer.example } }
`;
    const older = rules().replace(
      "name: pay-a, namespace: shop",
      'name: pay-a, namespace: shop, creationTimestamp: "2024-01-01T00:00:00Z"',
    );
    expect(sniOf(pay(clustersOf(A, newer, older)))).toBe("pay.example");
  });
});

describe("DestinationRule workloadSelector with tls.credentialName on a sidecar", () => {
  it("the selected sidecar gets no Secret before its ServiceAccount's review allows it, and the warning says why", () => {
    const withCredential = rules().replace(
      "tls: { mode: SIMPLE, sni: pay.example }",
      "tls: { mode: SIMPLE, credentialName: pay-ca }",
    );
    const secret = secretYaml("pay-ca", "shop", { "ca.crt": "x" });
    const out = translate(meshModel(workloads, withCredential, secret), { ...parseNodeId(A), mtls: true });
    expect(out.secrets).toEqual([]);
    expect(out.warnings).toContainEqual(
      expect.stringContaining("secret shop/pay-ca: its ServiceAccount was not reviewed"),
    );
  });
});
