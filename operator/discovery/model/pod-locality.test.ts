// A Pod's locality in Kubernetes mode, as istiod's registry finds it: its istio-locality label, else its node's
// topology labels; its endpoints carry it, and a proxy in the pod is there (translate/locality.ts).
import type { KubeObject } from "./kube.js";
import { normalise } from "./normalise.js";
import { IncrementalModel } from "./incremental.js";

const node = (name: string, labels: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels },
});
const pod = (name: string, ip: string, nodeName: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "a", labels: { app: "web", ...labels } },
  spec: { nodeName, containers: [{ name: "app" }] },
  status: { podIP: ip, containerStatuses: [{ name: "app", ready: true }] },
});
const WORLD: KubeObject[] = [
  node("n1", { "topology.kubernetes.io/region": "us-east1", "topology.kubernetes.io/zone": "us-east1-b" }),
  node("n2", {
    "topology.kubernetes.io/region": "us-west1",
    "topology.kubernetes.io/zone": "us-west1-a",
    "topology.istio.io/subzone": "rack7",
  }),
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "a" },
    spec: { clusterIP: "10.96.0.1", selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
  },
  {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-x", namespace: "a", labels: { "kubernetes.io/service-name": "web" } },
    ports: [{ name: "http", port: 8080 }],
    endpoints: [
      { addresses: ["10.0.0.1"], targetRef: { name: "web-1" }, zone: "us-east1-b" },
      { addresses: ["10.0.0.2"], targetRef: { name: "web-2" }, zone: "us-west1-a" },
      { addresses: ["10.0.0.3"], targetRef: { name: "web-3" }, zone: "us-east1-b" },
    ],
  },
  pod("web-1", "10.0.0.1", "n1"),
  pod("web-2", "10.0.0.2", "n2"),
  pod("web-3", "10.0.0.3", "n1", { "istio-locality": "eu.fr.paris" }),
];

describe("a pod's locality", () => {
  it("is its node's topology labels, or its istio-locality label, on its workload and its endpoints", () => {
    const { model } = normalise(WORLD);
    const expected = {
      "10.0.0.1": "us-east1/us-east1-b/",
      "10.0.0.2": "us-west1/us-west1-a/rack7",
      "10.0.0.3": "eu/fr/paris",
    };
    expect(Object.fromEntries(model.workloads.map((w) => [w.address, w.locality]))).toEqual(expected);
    // The slice's `zone` alone (no region) was taken as the locality before: us-east1-b as a region.
    expect(Object.fromEntries(model.services[0]!.endpoints.map((e) => [e.address, e.locality]))).toEqual(expected);
  });

  it("follows its node's labels in the incremental model", () => {
    const m = new IncrementalModel();
    for (const o of WORLD) m.apply(o);
    m.apply(node("n1", { "topology.kubernetes.io/region": "us-central1", "topology.kubernetes.io/zone": "c" }));
    const localities = m.model().model.services[0]!.endpoints.map((e) => e.locality);
    expect(localities).toEqual(["us-central1/c/", "us-west1/us-west1-a/rack7", "eu/fr/paris"]);
  });
});
