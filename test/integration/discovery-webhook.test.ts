// The validation webhook, called by the real kube-apiserver: discovery runs on 127.0.0.1 with a serving cert from
// the mesh CA (the Secret the operator keeps), and a ValidatingWebhookConfiguration points at it by URL.
// `kubectl apply` of a VirtualService a proxy would NACK fails with the field named; a good one passes.
import { generateCa } from "../../operator/runtime/pki.js";
import { applyNetworking, NETWORKING } from "./support/bookinfo.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { kube, kubectl } from "./support/kubectl.js";
import { INVALID, invalidObject } from "../fixtures/invalid-istio.js";

const MESH_NS = "weft-webhook";
const APP_NS = "webhook-app";
const WEBHOOK = "weft-test-validator";
const b64 = (s: string) => Buffer.from(s).toString("base64");

const vs = (http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: ${APP_NS} }
spec:
  hosts: [reviews]
  http:
${http}`;

const bad = {
  regex: vs(
    `  - match: [{ uri: { regex: "/reviews/(unclosed" } }]\n    route: [{ destination: { host: reviews, subset: v1 } }]\n`,
  ),
  weights: vs(
    `  - route:\n    - { destination: { host: reviews, subset: v1 }, weight: 70 }\n    - { destination: { host: reviews, subset: v2 }, weight: 20 }\n`,
  ),
  subset: vs(`  - route: [{ destination: { host: reviews, subset: v9 } }]\n`),
  abort: vs(
    `  - fault: { abort: { percentage: { value: 150 }, httpStatus: 500 } }\n    route: [{ destination: { host: reviews, subset: v1 } }]\n`,
  ),
  // Header injection by config: a Set-Cookie smuggled into every response through a CRLF.
  crlf: vs(
    `  - headers: { response: { set: { x-a: "1\\r\\nSet-Cookie: session=evil" } } }\n    route: [{ destination: { host: reviews, subset: v1 } }]\n`,
  ),
  lookahead: vs(
    `  - match: [{ headers: { cookie: { regex: "(?=.*user=jason).*" } } }]\n    route: [{ destination: { host: reviews, subset: v1 } }]\n`,
  ),
};

function webhookYaml(port: number, caPem: string): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: ${WEBHOOK} }
webhooks:
- name: validation.weft.dev
  clientConfig: { url: "https://127.0.0.1:${port}/validate", caBundle: ${b64(caPem)} }
  rules:
  - { apiGroups: [networking.istio.io], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: ["*"] }
  namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ${APP_NS} } }
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: 5
`;
}

describe("the validation webhook, called by kube-apiserver", () => {
  let discovery: DiscoveryProcess | undefined;

  beforeAll(async () => {
    const ca = await generateCa(`weft-ca.${MESH_NS}`, 30);
    await kube(
      ["apply", "-f", "-"],
      `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${MESH_NS} }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: ${APP_NS} }\n`,
    );
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "weft-ca-secret", namespace: MESH_NS },
      data: { "ca-cert.pem": b64(ca.certPem), "ca-key.pem": b64(ca.keyPem) },
    };
    await kube(["apply", "-f", "-"], JSON.stringify(secret));
    discovery = await DiscoveryProcess.start(MESH_NS, "webhook", [`--watch-namespace=${APP_NS}`]);
    await kube(["apply", "-f", "-"], webhookYaml(discovery.webhookPort, ca.certPem));
    await applyNetworking(APP_NS, "destination-rule-all.yaml");
    // The API server picks a new webhook configuration up within a moment: probe with server-side dry runs.
    for (let i = 0; i < 100; i++) {
      const probe = await kubectl(["apply", "--dry-run=server", "-f", "-"], bad.subset);
      if (probe.code !== 0) break;
    }
  }, 60_000);

  afterAll(async () => {
    await kubectl(["delete", "validatingwebhookconfiguration", WEBHOOK, "--ignore-not-found"]);
    await discovery?.stop();
    await kubectl(["delete", "namespace", APP_NS, MESH_NS, "--wait=false"]);
  });

  it.each([
    ["a regex RE2 can't compile", bad.regex, "spec.http[0].match[0].uri.regex"],
    ["weights that don't add up to 100", bad.weights, "spec.http[0].route"],
    ["a subset the DestinationRule doesn't define", bad.subset, "spec.http[0].route[0].destination.subset"],
    ["an abort percentage over 100", bad.abort, "spec.http[0].fault.abort.percentage"],
    ["CR/LF in a response header value", bad.crlf, 'spec.http[0].headers.response.set["x-a"]'],
    ["a lookahead, which RE2 has not", bad.lookahead, "spec.http[0].match[0].headers.cookie.regex"],
  ])("kubectl apply of a VirtualService with %s fails, naming the field", async (_what, yaml, field) => {
    const r = await kubectl(["apply", "-f", "-"], yaml);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('admission webhook "validation.weft.dev" denied the request');
    expect(r.stderr).toContain(field);
    expect((await kubectl(["get", "virtualservice", "reviews", "-n", APP_NS])).code).not.toBe(0);
  });

  // The same corpus the config folder rejects (test/e2e/config-lifecycle), here through kube-apiserver.
  it(`kubectl apply of each of the ${INVALID.length} invalid objects of the corpus fails, naming the field`, async () => {
    const outcomes: string[] = [];
    for (const [i, c] of INVALID.entries()) {
      const r = await kubectl(["apply", "-f", "-"], JSON.stringify(invalidObject(c, i, APP_NS)));
      const denied =
        r.code !== 0 &&
        r.stderr.includes('admission webhook "validation.weft.dev" denied the request') &&
        r.stderr.includes(`${c.field}: `);
      if (!denied) outcomes.push(`${c.kind} ${c.what}: ${r.code === 0 ? "accepted" : r.stderr.trim()}`);
    }
    expect(outcomes).toEqual([]);
  }, 300_000);

  it("kubectl apply of Istio's own Bookinfo VirtualService passes", async () => {
    await kube(["apply", "-n", APP_NS, "-f", `${NETWORKING}/virtual-service-reviews-50-v3.yaml`]);
    expect(await kube(["get", "virtualservice", "reviews", "-n", APP_NS, "-o", "name"])).toContain("reviews");
  });
});
