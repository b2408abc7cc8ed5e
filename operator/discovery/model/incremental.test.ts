// The incremental model against its reference, the full rebuild: random sequences of adds, updates and deletes
// over a small world (two namespaces, a few of each kind, few labels and addresses, so that objects collide).
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { nodeArbitrary } from "../../../test/support/discovery/node-arbitrary.js";
import { IncrementalModel } from "./incremental.js";
import type { KubeObject } from "./kube.js";
import { normalise } from "./normalise.js";

const ns = fc.constantFrom("a", "b");
const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
const ip = pick("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4");
// Plain objects, as JSON gives (a null prototype would differ from the rebuild only in that).
const labels = fc.record({ app: pick("x", "y"), v: pick("1", "2") }, { requiredKeys: [], noNullPrototype: true });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const meta = (names: string[], extra: fc.Arbitrary<Record<string, string> | undefined> = fc.constant(undefined)) =>
  fc.record({ name: pick(...names), namespace: ns, labels: extra });

const service = fc.record({
  apiVersion: fc.constant("v1"),
  kind: fc.constant("Service"),
  metadata: meta(["s0", "s1", "s2"]),
  spec: fc.record({
    clusterIP: pick("10.96.0.1", "None"),
    selector: maybe(labels),
    ports: fc.array(
      fc.record({
        name: pick("http", "grpc"),
        port: pick(80, 90),
        targetPort: maybe(pick<number | string>(8080, "web")),
      }),
      { maxLength: 2 },
    ),
  }),
});

const slice = fc.record({
  apiVersion: fc.constant("discovery.k8s.io/v1"),
  kind: fc.constant("EndpointSlice"),
  metadata: meta(["e0", "e1", "e2", "e3"], maybe(fc.record({ "kubernetes.io/service-name": pick("s0", "s1", "s2") }))),
  ports: fc.array(fc.record({ name: pick("http", "grpc"), port: pick(8080, 9090) }), { maxLength: 2 }),
  endpoints: fc.array(
    fc.record({
      addresses: fc.array(ip, { minLength: 1, maxLength: 2 }),
      conditions: fc.record({ ready: maybe(fc.boolean()) }),
      targetRef: maybe(fc.record({ name: pick("p0", "p1", "p2", "p3") })),
      zone: maybe(pick("z1", "z2")),
    }),
    { maxLength: 3 },
  ),
});

function withLabel<M extends { labels?: Record<string, string> | undefined }>(m: M, locality: string | undefined): M {
  return locality ? { ...m, labels: { ...m.labels, "istio-locality": locality } } : m;
}

const node = nodeArbitrary;

const app = { name: "app", ports: [{ name: "web", containerPort: 8081 }] };
const GATE = "example.com/lb";
const pod = fc
  .record({
    metadata: meta(["p0", "p1", "p2", "p3"], maybe(labels)),
    // Whether it serves by its own status (normalise.ts podServes), each part likely enough for a status-only update
    // to flip it: going away (one in five), its containers' readiness, a readiness gate (one in three) and its value.
    deleting: fc.nat(4).map((n) => n === 0),
    containers: pick([app], [app, { name: "weft-engine-carrier" }]),
    serviceAccountName: pick("default", "reviews"),
    gated: fc.nat(2).map((n) => n === 0),
    statuses: fc.nat(4).map((n) => n > 0),
    appReady: fc.boolean(),
    carrierReady: maybe(fc.boolean()),
    gate: pick("True", "False"),
    podIP: maybe(ip),
    phase: pick("Running", "Pending"),
    // Its locality: the istio-locality label, else its node's.
    nodeName: maybe(pick("n0", "n1")),
    localityLabel: maybe(pick("r1.z1", "r2.z2.s1")),
  })
  .map(({ localityLabel, ...p }) => ({ ...p, metadata: withLabel(p.metadata, localityLabel) }))
  .map((p) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: p.deleting ? { ...p.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } : p.metadata,
    spec: {
      ...(p.nodeName ? { nodeName: p.nodeName } : {}),
      containers: p.containers,
      serviceAccountName: p.serviceAccountName,
      ...(p.gated ? { readinessGates: [{ conditionType: GATE }] } : {}),
    },
    status: {
      podIP: p.podIP,
      phase: p.phase,
      containerStatuses: p.statuses
        ? [
            { name: "app", ready: p.appReady },
            { name: "weft-engine-carrier", ready: p.carrierReady },
          ]
        : [],
      conditions: [{ type: GATE, status: p.gate }],
    },
  }));

const serviceEntry = fc.record({
  apiVersion: fc.constant("networking.istio.io/v1"),
  kind: fc.constant("ServiceEntry"),
  metadata: meta(["se0", "se1"]),
  spec: fc.record({
    hosts: fc.subarray(["h0.example", "h1.example", "s0.a.svc.cluster.local"]),
    ports: fc.constant([{ number: 80, name: "http", protocol: "HTTP" }]),
    resolution: pick("STATIC", "DNS"),
    workloadSelector: maybe(fc.record({ labels })),
    endpoints: maybe(fc.array(fc.record({ address: ip }), { maxLength: 1 })),
  }),
});

const workloadEntry = fc.record({
  apiVersion: fc.constant("networking.istio.io/v1"),
  kind: fc.constant("WorkloadEntry"),
  metadata: meta(["w0", "w1"]),
  spec: fc.record({ address: maybe(ip), labels: maybe(labels), serviceAccount: maybe(pick("bookinfo")) }),
});

const policy = fc
  .record({
    kind: pick(
      "VirtualService",
      "DestinationRule",
      "Gateway",
      "Sidecar",
      "AuthorizationPolicy",
      "PeerAuthentication",
      "Telemetry",
    ),
    metadata: meta(["r0", "r1"]).map((m) => ({ ...m, creationTimestamp: "2026-01-01T00:00:00Z" })),
    spec: fc.record({ hosts: fc.subarray(["s0", "h0.example"]) }),
  })
  .map((o) => ({
    ...o,
    apiVersion:
      o.kind === "Telemetry"
        ? "telemetry.istio.io/v1"
        : o.kind.endsWith("Policy") || o.kind === "PeerAuthentication"
          ? "security.istio.io/v1"
          : "networking.istio.io/v1",
  }));

const namespace = fc.record({ apiVersion: fc.constant("v1"), kind: fc.constant("Namespace"), metadata: meta(["a"]) });

const object = fc.oneof(
  { arbitrary: service, weight: 2 },
  { arbitrary: slice, weight: 3 },
  { arbitrary: pod, weight: 4 },
  { arbitrary: serviceEntry, weight: 1 },
  { arbitrary: workloadEntry, weight: 1 },
  { arbitrary: policy, weight: 1 },
  { arbitrary: namespace, weight: 1 },
  { arbitrary: node, weight: 2 },
) as fc.Arbitrary<KubeObject>;

/**
 * An add or update (the same key twice is an update), a delete, and whether to compare the models after it; a pod's
 * update may change only its status.
 */
const event = fc.record({ object, deleted: fc.boolean(), check: fc.boolean(), restatus: fc.boolean() });

type Status = { containerStatuses?: unknown; conditions?: unknown };
/** A status update, as the kubelet writes: the stored pod with only its containers' readiness and conditions new. */
function restatused(stored: KubeObject, o: KubeObject): KubeObject {
  const status = (o.status ?? {}) as Status;
  const { containerStatuses, conditions } = status;
  return { ...stored, status: { ...(stored.status as object), containerStatuses, conditions } };
}

const keyOf = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;

describe("the incremental model", () => {
  it("equals the full rebuild (normalise) after every random sequence of events", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30, size: "max" }), (events) => {
        const incremental = new IncrementalModel();
        // The reference store: per key, its place is where it was first added, as the informers keep them.
        const store = new Map<string, KubeObject>();
        const check = (): boolean => {
          const full = normalise([...store.values()]);
          const got = incremental.model();
          return isDeepStrictEqual(got.model, full.model) && isDeepStrictEqual(got.warnings, full.warnings);
        };
        for (const e of events) {
          if (e.deleted) {
            const present = store.get(keyOf(e.object));
            if (!present) continue;
            store.delete(keyOf(e.object));
            incremental.apply(present, true);
          } else {
            // A status update goes to a pod already there: this key's, else the last one added.
            const pods = [...store.values()].filter((o) => o.kind === "Pod");
            const stored = store.get(keyOf(e.object)) ?? pods[pods.length - 1];
            const o = e.restatus && stored && e.object.kind === "Pod" ? restatused(stored, e.object) : e.object;
            store.set(keyOf(o), o);
            incremental.apply(o);
          }
          if (e.check && !check()) return false;
        }
        return check();
      }),
      { numRuns: 10_000 },
    );
  });

  it("hands back the same model, unchanged, when an event changes nothing the model holds", () => {
    const m = new IncrementalModel();
    const p = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "a", labels: { app: "x" } },
      status: { podIP: "10.0.0.1", phase: "Running" },
    };
    m.apply(p);
    const first = m.model().model;
    m.apply({ ...p, status: { podIP: "10.0.0.1", phase: "Running", conditions: [{ type: "Ready" }] } });
    expect(m.changed).toBe(false);
    expect(m.model().model).toBe(first);
  });

  it("brings back a not-ready endpoint when its pod's status alone says it serves again (the slice behind)", () => {
    const m = new IncrementalModel();
    m.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "a" },
      spec: { clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80 }] },
    });
    m.apply({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "web-x", namespace: "a", labels: { "kubernetes.io/service-name": "web" } },
      ports: [{ name: "http", port: 8080 }],
      endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: false }, targetRef: { name: "web-0" } }],
    });
    const pod = (ready: boolean): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-0", namespace: "a" },
      spec: { containers: [{ name: "app" }] },
      status: { podIP: "10.0.0.1", containerStatuses: [{ name: "app", ready }] },
    });
    const addresses = () => m.model().model.services[0]?.endpoints.map((e) => e.address);
    m.apply(pod(false));
    expect(addresses()).toEqual([]);
    m.apply(pod(true)); // the kubelet's write, before the EndpointSlice controller's
    expect(addresses()).toEqual(["10.0.0.1"]);
    m.apply(pod(false));
    expect(addresses()).toEqual([]);
  });
});
