// Whatever the validator accepts, the proxies accept: random Istio objects, valid-looking and hostile, go through
// the discovery path (admission, as the config folder and the webhook validate; normalise; translate for a sidecar
// and a gateway; the xDS encoding) and what each proxy is sent must compile in the engine, and arrive as it was
// translated (a number past its protobuf field's range would be encoded wrapped: maxConnections 4294967296 as 0).
// The validator never throws, and each error it gives names a field. A NACK would keep every proxy on its old config.
import fc from "fast-check";
import { bookinfoKube, parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { wireChanges } from "../../../test/support/discovery/wire.js";
import { networkingObject } from "../../../test/support/discovery/istio-arbitraries.js";
import { edgeObjects } from "../../../test/support/discovery/istio-bounds-arbitraries.js";
import { authorizationPolicy, peerAuthentication } from "../../../test/support/discovery/istio-security-arbitraries.js";
import { decodeResource, encodeResource } from "../../../proxy/xds/codec.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import type { Named } from "../model/config.js";
import type { DestinationRule } from "../model/istio.js";
import type { KubeObject } from "../model/kube.js";
import { normalise } from "../model/normalise.js";
import { admit } from "../sources/admission.js";
import { parseNodeId, translate, type TranslateResult } from "../translate/index.js";
import { validateObject } from "./index.js";

const MESH: KubeObject[] = [
  ...bookinfoKube(),
  ...parseYaml(`
apiVersion: v1
kind: Pod
metadata: { name: ingress-0, namespace: default, labels: { istio: ingressgateway } }
status: { podIP: 10.0.1.1 }
---
apiVersion: v1
kind: Service
metadata: { name: mysqldb, namespace: default }
spec: { clusterIP: 10.96.0.30, selector: { app: mysqldb }, ports: [{ name: tcp, port: 3306 }] }`),
];
const PROXIES = [
  parseNodeId("sidecar~10.0.0.12~reviews-v1-0.default~default.svc.cluster.local"),
  parseNodeId("router~10.0.1.1~ingress-0.default~default.svc.cluster.local"),
];
/** A message that names its field: `spec.http[0].timeout: …`, `metadata.name: …`, `kind: …`. */
const NAMES_FIELD = /^(spec|metadata|kind|apiVersion|status)([.[:]|$)/;

const istioObject = fc.oneof(
  { arbitrary: networkingObject, weight: 10 },
  { arbitrary: peerAuthentication, weight: 1 },
  { arbitrary: authorizationPolicy, weight: 2 },
);

const roundTrip = (list: JsonObject[]): JsonObject[] => list.map((r) => decodeResource(encodeResource(r)));

function rulesOf(objects: KubeObject[]): Named<DestinationRule>[] {
  return objects
    .filter((o) => o.kind === "DestinationRule")
    .map((o) => ({
      name: o.metadata?.name ?? "",
      namespace: o.metadata?.namespace ?? "default",
      spec: o.spec as unknown as DestinationRule,
    }));
}

/** What goes wrong with one set of objects, as a list of problems (empty: all is well). */
function problems(objects: KubeObject[]): string[] {
  const out: string[] = [];
  const destinationRules = rulesOf(objects);
  for (const o of objects) {
    for (const e of validateObject(o, { destinationRules })) {
      if (!NAMES_FIELD.test(e) || e.includes("cannot be validated")) out.push(`${o.kind}: unnamed or thrown: ${e}`);
    }
  }
  const admitted = admit(
    objects.map((object) => ({ object, origin: "fuzz.yaml" })),
    new Map(),
  );
  const { model } = normalise([...MESH, ...admitted.objects]);
  for (const proxy of PROXIES) {
    const result: TranslateResult = translate(model, proxy);
    const sent = {
      listeners: roundTrip(result.listeners),
      routes: roundTrip(result.routes),
      clusters: roundTrip(result.clusters),
      endpoints: roundTrip(result.endpoints),
      secrets: roundTrip(result.secrets),
      warnings: [],
    } as unknown as TranslateResult;
    out.push(...violations(result).map((v) => `${proxy.kind}: ${v}`));
    out.push(...violations(sent).map((v) => `${proxy.kind} (as sent): ${v}`));
    for (const kind of ["listeners", "routes", "clusters", "endpoints", "secrets"] as const)
      out.push(...wireChanges(result[kind], sent[kind]).map((c) => `${proxy.kind} ${kind} changed on the wire: ${c}`));
  }
  return out;
}

describe("accepted Istio config compiles in every proxy", () => {
  it("never throws, names the field of every error, and renders only what the engine takes", () => {
    fc.assert(
      fc.property(fc.array(istioObject, { minLength: 1, maxLength: 4 }), (objects) => {
        expect(problems(objects)).toEqual([]);
      }),
      { numRuns: Number(process.env["FUZZ_RUNS"] ?? 600) },
    );
  });

  it("lets no number or duration through that would arrive changed: each at the edge of its field", () => {
    fc.assert(
      fc.property(edgeObjects, (objects) => {
        expect(problems(objects)).toEqual([]);
      }),
      { numRuns: Number(process.env["FUZZ_RUNS"] ?? 600) },
    );
  });

  it("would see a number that wraps on the wire (the check itself)", () => {
    // Past the validator (as an object the cluster held before the webhook): maxConnections 2^32 is sent as 0.
    const dr = {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "wraps", namespace: "default" },
      spec: { host: "reviews", trafficPolicy: { connectionPool: { tcp: { maxConnections: 2 ** 32 } } } },
    } as KubeObject;
    const { model } = normalise([...MESH, dr]);
    const clusters = translate(model, PROXIES[0] as (typeof PROXIES)[0]).clusters;
    expect(wireChanges(clusters, roundTrip(clusters))).toContainEqual(
      expect.stringMatching(/circuit_breakers\.thresholds\[0\]\.max_connections: 4294967296 → 0$/),
    );
  });
});
