// Memoised translation and EDS-only patches against their reference, translating the whole model anew: random
// sequences of Kubernetes and Istio events feed the incremental model, and after each one the generator's snapshot
// for every kind of proxy must be the one a fresh translation gives (every resource, and the warnings).
import fc from "fast-check";
import { nodeArbitrary } from "../../../test/support/discovery/node-arbitrary.js";
import { IncrementalModel } from "../model/incremental.js";
import type { KubeObject } from "../model/kube.js";
import { parseNodeId, translate, type ProxyIdentity } from "../translate/index.js";
import { SnapshotGenerator } from "./generator.js";
import { EncodeCache, buildSnapshot, type Snapshot } from "./snapshot.js";
import { decodeResource, encodeResource } from "../../../proxy/xds/codec.js";
import { TYPE } from "../../../proxy/xds/types.js";

const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const ns = pick("a", "b");
const ip = pick("10.0.0.1", "10.0.0.2", "10.0.0.3");
const labels = fc.record({ app: pick("x", "y"), v: pick("1", "2") }, { requiredKeys: [], noNullPrototype: true });
// A meshed pod (Istio's injector labels it so): PeerAuthentications decide whether its endpoints take mTLS.
const podLabels = fc.record(
  {
    app: pick("x", "y"),
    v: pick("1", "2"),
    "security.istio.io/tlsMode": pick("istio"),
    // Its locality (else its node's), which orders the endpoints a proxy gets and is part of its class.
    "istio-locality": pick("r1.z1", "r2.z2"),
  },
  { requiredKeys: ["security.istio.io/tlsMode"], noNullPrototype: true },
);
const meta = (names: string[], extra: fc.Arbitrary<Record<string, string> | undefined> = fc.constant(undefined)) =>
  fc.record({
    name: pick(...names),
    namespace: ns,
    labels: extra,
    creationTimestamp: fc.constant("2026-01-01T00:00:00Z"),
  });
const host = pick("s0", "s1", "s0.a.svc.cluster.local", "s1.b.svc.cluster.local", "nowhere");
const subset = maybe(pick("v1", "v2", "v3"));
const exportTo = maybe(pick(["*"], ["."], ["a"], ["b", "."]));

const service = fc.record({
  apiVersion: fc.constant("v1"),
  kind: fc.constant("Service"),
  metadata: fc.record({
    name: pick("s0", "s1"),
    namespace: ns,
    annotations: maybe(fc.record({ "networking.istio.io/exportTo": pick(".", "a", "b,a") })),
  }),
  spec: fc.record({
    clusterIP: pick("10.96.0.1", "10.96.0.2"),
    selector: maybe(labels),
    ports: fc.array(fc.record({ name: pick("http", "tcp"), port: pick(80, 90), targetPort: maybe(pick(8080)) }), {
      minLength: 1,
      maxLength: 2,
    }),
  }),
});

const slice = fc.record({
  apiVersion: fc.constant("discovery.k8s.io/v1"),
  kind: fc.constant("EndpointSlice"),
  metadata: meta(["e0", "e1"], fc.record({ "kubernetes.io/service-name": pick("s0", "s1") })),
  ports: fc.constant([{ name: "http", port: 8080 }]),
  endpoints: fc.array(
    fc.record({
      addresses: fc.array(ip, { minLength: 1, maxLength: 1 }),
      conditions: fc.record({ ready: maybe(fc.boolean()) }),
      targetRef: maybe(fc.record({ name: pick("p0", "p1") })),
    }),
    { maxLength: 3 },
  ),
});

const pod = fc.record({
  apiVersion: fc.constant("v1"),
  kind: fc.constant("Pod"),
  metadata: meta(["p0", "p1"], maybe(podLabels)),
  spec: fc.record(
    { containers: fc.constant([{ ports: [{ name: "web", containerPort: 8080 }] }]), nodeName: pick("n0", "n1") },
    { requiredKeys: ["containers"] },
  ),
  status: fc.record({ podIP: maybe(ip), phase: fc.constant("Running") }),
});

const node = nodeArbitrary;

const localityLbSetting = fc.oneof(
  fc.record({ enabled: fc.boolean() }),
  fc.constant({ failover: [{ from: "r1", to: "r2" }] }),
  fc.constant({ failoverPriority: ["app", "topology.kubernetes.io/zone"] }),
  fc.constant({ distribute: [{ from: "r1/*", to: { "r1/z1/*": 70, "r2/*": 30 } }] }),
);

const virtualService = fc.record({
  apiVersion: fc.constant("networking.istio.io/v1"),
  kind: fc.constant("VirtualService"),
  metadata: meta(["r0", "r1"]),
  spec: fc.record({
    hosts: fc.array(host, { minLength: 1, maxLength: 2 }),
    http: fc.array(
      fc.record(
        {
          match: maybe(
            fc.array(fc.record({ sourceLabels: maybe(labels), sourceNamespace: maybe(ns) }), { maxLength: 1 }),
          ),
          route: fc.array(
            fc.record(
              { destination: fc.record({ host, subset }), weight: fc.constant(50) },
              { requiredKeys: ["destination"] },
            ),
            { minLength: 1, maxLength: 2 },
          ),
          retries: maybe(fc.record({ attempts: pick(1, 3) })),
        },
        { requiredKeys: ["route"] },
      ),
      { maxLength: 2 },
    ),
    exportTo,
  }),
});

const destinationRule = fc.record({
  apiVersion: fc.constant("networking.istio.io/v1"),
  kind: fc.constant("DestinationRule"),
  metadata: meta(["r0", "r1"]),
  spec: fc.record({
    host,
    workloadSelector: maybe(fc.record({ matchLabels: labels })),
    subsets: maybe(
      fc.array(fc.record({ name: pick("v1", "v2"), labels: fc.record({ v: pick("1", "2") }) }), { maxLength: 2 }),
    ),
    trafficPolicy: maybe(
      fc.record(
        {
          loadBalancer: fc.oneof(
            fc.record({ simple: pick("ROUND_ROBIN", "RANDOM"), localityLbSetting: maybe(localityLbSetting) }),
            fc.record({ consistentHash: fc.record({ httpHeaderName: pick("x-user") }) }),
          ),
          outlierDetection: fc.record({ minHealthPercent: maybe(pick(0, 30)) }),
        },
        { requiredKeys: ["loadBalancer"] },
      ),
    ),
    exportTo,
  }),
});

// Sidecars scope what each proxy gets: by namespace and name, with exclusions, per workload or namespace-wide.
const egressHost = pick("./*", "*/s0.a.svc.cluster.local", "b/*", "~./s1.a.svc.cluster.local", "*/*", "a/s1");
const sidecar = fc.record({
  apiVersion: fc.constant("networking.istio.io/v1"),
  kind: fc.constant("Sidecar"),
  metadata: meta(["sc0", "sc1"]),
  spec: fc.record(
    {
      workloadSelector: fc.record({ labels }),
      egress: fc.array(fc.record({ hosts: fc.array(egressHost, { minLength: 1, maxLength: 3 }) }), {
        minLength: 1,
        maxLength: 2,
      }),
      outboundTrafficPolicy: fc.record({ mode: pick("ALLOW_ANY", "REGISTRY_ONLY") }),
    },
    { requiredKeys: ["egress"] },
  ),
});

const peerAuthentication = fc.record({
  apiVersion: fc.constant("security.istio.io/v1"),
  kind: fc.constant("PeerAuthentication"),
  metadata: meta(["pa0"]),
  spec: fc.record({
    selector: maybe(fc.record({ matchLabels: labels })),
    mtls: fc.record({ mode: pick("STRICT", "PERMISSIVE", "DISABLE") }),
  }),
});

const object = fc.oneof(
  { arbitrary: service, weight: 2 },
  { arbitrary: slice, weight: 3 },
  { arbitrary: pod, weight: 3 },
  { arbitrary: virtualService, weight: 3 },
  { arbitrary: destinationRule, weight: 2 },
  { arbitrary: peerAuthentication, weight: 1 },
  { arbitrary: sidecar, weight: 2 },
  { arbitrary: node, weight: 1 },
) as fc.Arbitrary<KubeObject>;

const keyOf = (o: KubeObject) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;

const proxies: ProxyIdentity[] = [
  parseNodeId("sidecar~10.0.0.1~p0.a~a.svc.cluster.local"),
  parseNodeId("sidecar~10.0.0.9~client.b~b.svc.cluster.local"),
  { ...parseNodeId("sidecar~10.0.0.2~p1.b~b.svc.cluster.local"), mtls: true },
  parseNodeId("sidecar~10.0.0.8~g.a~a.svc.cluster.local", "grpc-node-js"),
  // Not in the registry: its node's locality.
  { ...parseNodeId("sidecar~10.0.0.7~vm.a~a.svc.cluster.local"), locality: "r2/z2/" },
];

/** Every resource by type and name, as its hash (equal hashes, equal JSON). */
const resources = (s: Snapshot) =>
  [...s.resources].map(([type, m]) => [type, [...m.values()].map((e) => [e.name, e.hash])]);

describe("memoised translation and EDS-only patches", () => {
  it("give what translating the whole model anew gives, after every random sequence of events", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ object, deleted: fc.boolean() }), { minLength: 1, maxLength: 12 }), (events) => {
        const model = new IncrementalModel();
        const generator = new SnapshotGenerator();
        const present = new Map<string, KubeObject>();
        for (const { object: o, deleted } of events) {
          const before = present.get(keyOf(o));
          if (deleted && !before) continue;
          if (deleted) present.delete(keyOf(o));
          else present.set(keyOf(o), o);
          model.apply(deleted && before ? before : o, deleted);
          const current = model.model().model;
          generator.setModel(current);
          for (const proxy of proxies) {
            const names = proxy.proxyless ? ["s0.a.svc.cluster.local:80"] : [];
            const attempt = <T>(f: () => T): T | Error => {
              try {
                return f();
              } catch (err) {
                return err as Error;
              }
            };
            const got = attempt(() => generator.snapshotFor(proxy, names));
            const fresh = () => translate(current, proxy, { listenerNames: names });
            const want = attempt(() => buildSnapshot(generator.version, fresh(), new EncodeCache()));
            if (got instanceof Error || want instanceof Error) {
              expect(String(got)).toBe(String(want));
              continue;
            }
            expect(resources(got)).toEqual(resources(want));
            expect(got.hash).toBe(want.hash);
            // Route tables are assembled from virtual hosts encoded one by one: the bytes read as the JSON does.
            for (const e of got.resources.get(TYPE.route)?.values() ?? [])
              expect(decodeResource(e.any)).toEqual(decodeResource(encodeResource(e.json)));
            expect([...got.warnings].sort()).toEqual([...want.warnings].sort());
          }
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
