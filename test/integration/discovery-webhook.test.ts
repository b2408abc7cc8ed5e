// The validation webhook, called by the real kube-apiserver: discovery runs on 127.0.0.1 with a serving cert from
// the mesh CA (the Secret the operator keeps), and a ValidatingWebhookConfiguration points at it by URL.
// `kubectl apply` of a VirtualService a proxy would NACK fails with the field named; a good one passes. The whole
// corpus is rejected under load through two sidecars on this discovery, each rejection followed by a valid change.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../../hack/paths.js";
import { get, poll } from "../../hack/local/procs.js";
import { generateCa } from "../../operator/runtime/pki.js";
import { AgentProcess } from "../support/agent-process.js";
import { LoadProcess } from "../support/load-process.js";
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

/** A GET through a sidecar's outbound listener naming the service in Host (fetch can't set Host): its status. */
const status = (ip: string, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request({ host: ip, port: 15001, path: "/", headers: { host }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });

const LOAD_RATE = 150;
const BACKEND = "127.0.47.2";
const echo = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: ${APP_NS} }
spec: { hosts: [echo], ports: [{ number: 9080, name: http, protocol: HTTP }], resolution: STATIC, workloadSelector: { labels: { app: echo } } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo, namespace: ${APP_NS} }
spec: { address: ${BACKEND}, ports: { http: 9080 }, labels: { app: echo } }
`;
/** A valid change unrelated to the corpus: this round's ServiceEntry, a cluster in every sidecar once it arrives. */
const marker = (i: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: marker, namespace: ${APP_NS} }
spec: { hosts: [marker-${i}.example.com], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: STATIC, endpoints: [{ address: 127.0.0.9 }] }
`;

describe("the validation webhook, called by kube-apiserver", () => {
  let discovery: DiscoveryProcess | undefined;
  const engines = mkdtempSync(join(tmpdir(), "weft-webhook-engines-"));
  const sidecars: AgentProcess[] = [];
  let backend: LoadProcess | undefined;
  let load: LoadProcess | undefined;
  let loadStarted = 0;

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
    // Two sidecars on this discovery (the engine from dist/, as the upgrade test installs it), and a steady load
    // through both to a backend ServiceEntry.
    const engine = join(engines, "0.2.0", "weft-engine");
    mkdirSync(dirname(engine), { recursive: true });
    writeFileSync(
      engine,
      `process.env.WEFT_ENGINE_VERSION = "0.2.0";\nimport(${JSON.stringify(`${REPO_ROOT}/dist/proxy/engine/child.js`)});\n`,
    );
    await kube(["apply", "-f", "-"], echo);
    backend = new LoadProcess([], { rate: 0, backend: `${BACKEND}:9080` });
    for (const n of [11, 12]) {
      const ip = `127.0.47.${n}`;
      sidecars.push(
        await AgentProcess.start({
          discoveryAddress: discovery.xdsTarget,
          nodeId: `sidecar~${ip}~client-${n}.${APP_NS}~${APP_NS}.svc.cluster.local`,
          binaryPath: "/weft-engine",
          engineVersion: "0.2.0",
          enginesDir: engines,
        }),
      );
    }
    for (const s of sidecars)
      await poll(`echo through ${s.ip}`, async () => ((await status(s.ip, "echo:9080")) === 200 ? true : undefined));
    load = new LoadProcess(
      sidecars.map((s) => `http://${s.ip}:15001/`),
      { rate: LOAD_RATE, host: "echo:9080" },
    );
    loadStarted = performance.now();
    await load.until((c) => c.ok > 0, 30_000, "a first answer");
  }, 120_000);

  afterAll(async () => {
    await load?.stop();
    for (const s of sidecars) await s.stop();
    await backend?.stop();
    rmSync(engines, { recursive: true, force: true });
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

  // The same corpus the config folder rejects (test/e2e/config-lifecycle), here through kube-apiserver, while two
  // sidecars (agent processes on this discovery) carry a steady load; after each rejection, a valid change reaches
  // both sidecars.
  it(`kubectl apply of each of the ${INVALID.length} invalid objects of the corpus fails, naming the field, under load; a valid change still reaches every sidecar`, async () => {
    const outcomes: string[] = [];
    for (const [i, c] of INVALID.entries()) {
      const r = await kubectl(["apply", "-f", "-"], JSON.stringify(invalidObject(c, i, APP_NS)));
      const denied =
        r.code !== 0 &&
        r.stderr.includes('admission webhook "validation.weft.dev" denied the request') &&
        r.stderr.includes(`${c.field}: `);
      if (!denied) outcomes.push(`${c.kind} ${c.what}: ${r.code === 0 ? "accepted" : r.stderr.trim()}`);
      await kube(["apply", "-f", "-"], marker(i));
      await poll(`marker-${i} on every sidecar`, async () => {
        for (const s of sidecars) {
          const dump = (await get(`http://${s.ip}:${s.adminPort}/config_dump`))?.body ?? "";
          if (!dump.includes(`"outbound|80||marker-${i}.example.com"`)) return undefined;
        }
        return true;
      });
    }
    expect(outcomes).toEqual([]);
    // The load is offered at LOAD_RATE req/s; what the machine achieved is printed, not asserted.
    const seconds = (performance.now() - loadStarted) / 1000;
    const done = await load!.stop();
    load = undefined;
    process.stdout.write(
      `webhook corpus load: ${done.ok} ok, ${done.failed} failed in ${seconds.toFixed(1)} s, ${(done.ok / seconds).toFixed(0)} req/s\n`,
    );
    expect(done.errors).toEqual({});
    expect(done.failed).toBe(0);
    expect(done.ok).toBeGreaterThan(0);
  }, 600_000);

  it("kubectl apply of Istio's own Bookinfo VirtualService passes", async () => {
    await kube(["apply", "-n", APP_NS, "-f", `${NETWORKING}/virtual-service-reviews-50-v3.yaml`]);
    expect(await kube(["get", "virtualservice", "reviews", "-n", APP_NS, "-o", "name"])).toContain("reviews");
  });
});
