// Whatever the validator accepts, the proxies accept: random Istio objects, valid-looking and hostile, go through
// the discovery path (admission, as the config folder and the webhook validate; normalise; translate for a sidecar
// and a gateway; the xDS encoding) and what each proxy is sent must compile in the engine. The validator never
// throws, and each error it gives names a field. A NACK would keep every proxy on its old config.
import fc from "fast-check";
import { bookinfoKube, parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { networkingObject } from "../../../test/support/discovery/istio-arbitraries.js";
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
      warnings: [],
    } as unknown as TranslateResult;
    out.push(...violations(result).map((v) => `${proxy.kind}: ${v}`));
    out.push(...violations(sent).map((v) => `${proxy.kind} (as sent): ${v}`));
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
});
