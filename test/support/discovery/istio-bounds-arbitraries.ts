// Test support: Istio objects that are valid but for one number or duration, set at or past the edge of what its
// protobuf field holds (int32, uint32, a port, a percentage, Istio's 1ms) — so they reach translation and the wire
// when the validator lets them through, and a value that wraps or rounds there is seen.
import fc from "fast-check";
import type { KubeObject } from "../../../operator/discovery/model/kube.js";

type Arb<T> = fc.Arbitrary<T>;

const INT32 = 2 ** 31 - 1;
const UINT32 = 2 ** 32 - 1;
/** Values at and around a range's edges, and the usual wrap-arounds. */
const edges = (min: number, max: number): number[] => [
  ...new Set([min - 1, min, min + 1, max - 1, max, max + 1, -1, 0.5, INT32, INT32 + 1, UINT32, UINT32 + 1, 2 ** 53]),
];
const DURATIONS = [
  "1ms",
  "0.999ms",
  "1.5ms",
  "1ns",
  "1us",
  "0.0000000001s",
  "0s",
  "0.001s",
  "1.0001s",
  "2562047h",
  "2562048h",
  "315576000001s",
];

/** A path in a spec and the value at its end, as an object: `at(["a", "b"], 1)` → `{a: {b: 1}}`. */
const at = (path: readonly string[], value: unknown): Record<string, unknown> =>
  path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;

const numeric = (path: readonly string[], min: number, max: number): Arb<Record<string, unknown>> =>
  fc.constantFrom(...edges(min, max)).map((v) => at(path, v));
const timed = (path: readonly string[]): Arb<Record<string, unknown>> =>
  fc.constantFrom(...DURATIONS).map((v) => at(path, v));

const policy = fc.oneof(
  numeric(["connectionPool", "tcp", "maxConnections"], 0, INT32),
  numeric(["connectionPool", "http", "http1MaxPendingRequests"], 0, INT32),
  numeric(["connectionPool", "http", "http2MaxRequests"], 0, INT32),
  numeric(["connectionPool", "http", "maxRequestsPerConnection"], 0, INT32),
  numeric(["connectionPool", "http", "maxRetries"], 0, INT32),
  numeric(["outlierDetection", "consecutive5xxErrors"], 0, UINT32),
  numeric(["outlierDetection", "consecutiveGatewayErrors"], 0, UINT32),
  numeric(["outlierDetection", "consecutiveErrors"], 0, INT32),
  numeric(["outlierDetection", "maxEjectionPercent"], 0, 100),
  fc
    .constantFrom(...edges(0, 8388608))
    .map((v) => ({ loadBalancer: { consistentHash: { httpHeaderName: "x-user", ringHash: { minimumRingSize: v } } } })),
  fc
    .constantFrom(2, 65537, 4999963, 5000011, 0, 1, 2 ** 32 + 15)
    .map((v) => ({ loadBalancer: { consistentHash: { httpHeaderName: "x-user", maglev: { tableSize: v } } } })),
  timed(["connectionPool", "tcp", "connectTimeout"]),
  timed(["connectionPool", "tcp", "idleTimeout"]),
  timed(["connectionPool", "http", "idleTimeout"]),
  timed(["outlierDetection", "interval"]),
  timed(["outlierDetection", "baseEjectionTime"]),
);

const route = [{ destination: { host: "reviews", subset: "v1" } }];
const http = fc.oneof(
  timed(["timeout"]),
  timed(["retries", "perTryTimeout"]).map((r) => ({ retries: { attempts: 2, ...(r["retries"] as object) } })),
  numeric(["retries", "attempts"], 0, INT32),
  fc.constantFrom(...DURATIONS).map((v) => ({ fault: { delay: { fixedDelay: v, percentage: { value: 10 } } } })),
  fc
    .constantFrom(-1, 0, 0.00001, 0.0001, 50, 100, 100.5)
    .map((v) => ({ fault: { delay: { fixedDelay: "1s", percentage: { value: v } } } })),
  fc.constantFrom(...edges(200, 599)).map((v) => ({ fault: { abort: { httpStatus: v, percentage: { value: 10 } } } })),
  fc
    .constantFrom(-1, 0, 0.00001, 0.0001, 50, 100, 100.5)
    .map((v) => ({ mirror: route[0]?.destination, mirrorPercentage: { value: v } })),
  numeric(["mirrorPercent"], 0, 100).map((m) => ({ mirror: route[0]?.destination, ...m })),
  fc
    .constantFrom(...edges(1, 65535))
    .map((v) => ({ route: [{ destination: { host: "reviews", port: { number: v } } }] })),
  fc.constantFrom(...edges(0, INT32)).map((v) => ({ route: [{ ...route[0], weight: v }] })),
  fc.constantFrom(...edges(0, 65535)).map((v) => ({ match: [{ port: v }] })),
);
const direct = fc.oneof(
  fc.constantFrom(...edges(200, 599)).map((v) => ({ directResponse: { status: v } })),
  fc
    .constantFrom(0, 300, 301, 302, 303, 304, 307, 308, 399, 400, UINT32 + 302)
    .map((v) => ({ redirect: { uri: "/x", redirectCode: v } })),
  fc.constantFrom(...edges(0, 65535)).map((v) => ({ redirect: { uri: "/x", port: v } })),
);

const object = (kind: string, spec: Record<string, unknown>): KubeObject =>
  ({
    apiVersion: "networking.istio.io/v1",
    kind,
    metadata: { name: "edge", namespace: "default" },
    spec,
  }) as KubeObject;

const subsets = [{ name: "v1", labels: { version: "v1" } }];

/** A DestinationRule for reviews, and a VirtualService routing to it, one value at an edge. */
export const edgeObjects: Arb<KubeObject[]> = fc.oneof(
  policy.map((trafficPolicy) => [object("DestinationRule", { host: "reviews", trafficPolicy, subsets })]),
  fc
    .oneof(
      http.map((h) => ({ route, ...h })),
      direct,
    )
    .map((h) => [
      object("DestinationRule", { host: "reviews", subsets }),
      object("VirtualService", { hosts: ["reviews"], http: [h] }),
    ]),
);
