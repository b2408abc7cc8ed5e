// Workload identity on the process cluster (issue #11, the pod side): the operator keeps ConfigMap
// istio-ca-root-cert in every namespace (created, repaired, rewritten when the CA's bundle changes); a pod the
// injector mutated runs its weft-proxy (as a process: KWOK pods don't run) with the pod's env, args, projected token
// (TokenRequest) and root cert, gets spiffe://cluster.local/ns/<ns>/sa/<sa> from weftd's CA on 15012 and syncs ADS
// over mTLS there; a token that is expired, of the wrong audience or of another namespace is refused with a reason,
// and the sidecar stays unready saying why.
import { createSign } from "node:crypto";
import { readFileSync } from "node:fs";
import type { KubernetesObject } from "@kubernetes/client-node";
import { files } from "../../hack/cluster/secrets.js";
import { SERVER } from "../../hack/cluster/layout.js";
import { clusterScopedName } from "../../operator/install/labels.js";
import { isSynced } from "../../operator/discovery/ads/tracker.js";
import { generateCa } from "../../operator/runtime/pki.js";
import type { AgentProcess } from "../support/agent-process.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { runInjectedAgent, type InjectedPod } from "./support/injected-agent.js";
import { getJson, kube, kubectl, serviceAccountKubeconfig } from "./support/kubectl.js";
import { operatorAndMesh } from "./support/operator.js";

const MESH = "identity";
const MESH_NS = "weft-identity";
const APP_NS = "identity-app";
const OTHER_NS = "identity-other";
const NEW_NS = "identity-new";
const WEBHOOK = "weft-identity-test-injector";
const REVIEWS = `spiffe://cluster.local/ns/${APP_NS}/sa/reviews`;
const b64 = (s: string) => Buffer.from(s).toString("base64");

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const rootCertIn = async (ns: string) =>
  (await kubectl(["get", "configmap", "istio-ca-root-cert", "-n", ns, "-o", "jsonpath={.data.root-cert\\.pem}"]))
    .stdout;
const caCert = async () =>
  Buffer.from(
    await kube(["get", "secret", "weft-ca-secret", "-n", MESH_NS, "-o", "jsonpath={.data.ca-cert\\.pem}"]),
    "base64",
  ).toString("utf8");

/** A ServiceAccount token the API server's key signed, expired a minute ago. */
async function expiredToken(ns: string, sa: string): Promise<string> {
  const uid = await kube(["get", "serviceaccount", sa, "-n", ns, "-o", "jsonpath={.metadata.uid}"]);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: `${SERVER}/`,
    sub: `system:serviceaccount:${ns}:${sa}`,
    aud: ["istio-ca"],
    iat: now - 600,
    nbf: now - 600,
    exp: now - 60,
    "kubernetes.io": { namespace: ns, serviceaccount: { name: sa, uid } },
  };
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${enc({ alg: "RS256", typ: "JWT" })}.${enc(claims)}`;
  const sig = createSign("RSA-SHA256").update(body).sign(readFileSync(files.saKey, "utf8"));
  return `${body}.${sig.toString("base64url")}`;
}

describe("workload identity for injected pods", () => {
  const fixture = operatorAndMesh("identity-test", MESH);
  let discovery: DiscoveryProcess | undefined;
  let securePort = 0;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    const ns = (n: string) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`;
    const sa = (n: string) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: reviews, namespace: ${n} }\n`;
    await kube(["apply", "-f", "-"], [ns(APP_NS), ns(OTHER_NS), sa(APP_NS), sa(OTHER_NS)].join("---\n"));
    await kube(
      ["apply", "-f", "-"],
      // The mesh's own webhook selects weft-injection only: the test's (below) answers istio-injection.
      `apiVersion: weft.dev/v1alpha1\nkind: MeshInstallation\nmetadata: { name: ${MESH} }\nspec: { version: 0.2.0, namespace: ${MESH_NS}, discovery: { replicas: 1 }, injection: { honorIstioLabel: false } }\n`,
    );
    await kube(["wait", "--for=condition=Ready", `mesh/${MESH}`, "--timeout=60s"]);
    expect(fixture.operator).toBeDefined();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await kubectl(["delete", "mutatingwebhookconfiguration", WEBHOOK, "--ignore-not-found"]);
    await discovery?.stop();
    await kubectl(["delete", "namespace", APP_NS, OTHER_NS, NEW_NS, "--wait=false", "--ignore-not-found"]);
  });

  it("istio-ca-root-cert is in every namespace: created with it, repaired, rewritten when the CA bundle changes", async () => {
    const ca = await caCert();
    await until("the root cert in the app namespace", async () =>
      (await rootCertIn(APP_NS)) === ca ? true : undefined,
    );
    await kube(["create", "namespace", NEW_NS]);
    await until("the root cert in a new namespace", async () => ((await rootCertIn(NEW_NS)) === ca ? true : undefined));
    expect(await rootCertIn("kube-system")).toBe("");

    await kube(["patch", "configmap", "istio-ca-root-cert", "-n", NEW_NS, "-p", '{"data":{"root-cert.pem":"forged"}}']);
    await until("an edit repaired", async () => ((await rootCertIn(NEW_NS)) === ca ? true : undefined));
    await kube(["delete", "configmap", "istio-ca-root-cert", "-n", NEW_NS]);
    await until("a delete repaired", async () => ((await rootCertIn(NEW_NS)) === ca ? true : undefined));

    // A CA rotation's overlap: the Secret's root-cert.pem holds the old and the new root; every namespace gets both.
    const next = await generateCa("weft-ca.next", 3650);
    const bundle = ca + next.certPem;
    const patchCa = (...how: string[]) => kube(["patch", "secret", "weft-ca-secret", "-n", MESH_NS, ...how]);
    await patchCa("-p", JSON.stringify({ data: { "root-cert.pem": b64(bundle) } }));
    await until("the bundle published", async () => ((await rootCertIn(APP_NS)) === bundle ? true : undefined));
    expect(await rootCertIn(NEW_NS)).toBe(bundle);
    await patchCa("--type=json", "-p", '[{"op":"remove","path":"/data/root-cert.pem"}]');
    await until("back to the CA alone", async () => ((await rootCertIn(APP_NS)) === ca ? true : undefined));
  }, 90_000);

  /** A pod created through the injector (the operator's webhook, pointed at the local discovery), as it is stored. */
  async function injectedPod(name: string): Promise<InjectedPod> {
    await kube(["label", "namespace", APP_NS, "istio-injection=enabled", "--overwrite"]);
    const mwc = await getJson<KubernetesObject & { webhooks: Record<string, unknown>[] }>([
      "get",
      "mutatingwebhookconfiguration",
      clusterScopedName(MESH, "sidecar-injector"),
    ]);
    const ca = await caCert();
    const webhook = {
      apiVersion: mwc.apiVersion,
      kind: mwc.kind,
      metadata: { name: WEBHOOK },
      webhooks: [
        {
          ...mwc.webhooks[0],
          name: "identity-test.sidecar-injector.weft.dev",
          clientConfig: { url: `https://127.0.0.1:${discovery!.webhookPort}/inject`, caBundle: b64(ca) },
          namespaceSelector: { matchLabels: { "istio-injection": "enabled" } },
        },
      ],
    };
    await kube(["apply", "-f", "-"], JSON.stringify(webhook));
    const pod = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: APP_NS, labels: { app: "reviews" } },
      spec: { serviceAccountName: "reviews", containers: [{ name: "reviews", image: "example.com/reviews:1" }] },
    });
    // The API server picks a new webhook configuration up within a moment: probe with server-side dry runs.
    await until("the webhook answering", async () => {
      const r = await kubectl(["create", "--dry-run=server", "-o", "json", "-f", "-"], pod);
      return r.code === 0 && r.stdout.includes("weft-proxy") ? true : undefined;
    });
    await kube(["create", "-f", "-"], pod);
    return getJson<InjectedPod>(["get", "pod", name, "-n", APP_NS]);
  }

  it("an injected pod's sidecar gets spiffe://cluster.local/ns/<ns>/sa/<sa> from weftd's CA and syncs ADS over 15012", async () => {
    // As weftd runs: with its ServiceAccount, so the rendered RBAC is what lets it review the sidecars' tokens.
    const kubeconfig = await serviceAccountKubeconfig("weftd", MESH_NS);
    discovery = await DiscoveryProcess.start(MESH_NS, MESH, [
      `--kubeconfig=${kubeconfig}`,
      `--watch-namespace=${APP_NS}`,
    ]);
    securePort = discovery.securePort;
    const pod = await injectedPod("reviews-1");
    const logs: string[] = [];
    const agent = await runInjectedAgent(pod, { localAddress: `127.0.0.1:${securePort}`, onLog: (l) => logs.push(l) });
    agents.push(agent);
    await until("the sidecar ready", async () => ((await agent.readiness()).status === 200 ? true : undefined), 60_000);
    expect(logs.some((l) => l.includes(`certificate for ${REVIEWS} until`))).toBe(true);
    const issued = await discovery.waitForLog((l) => l.msg === "workload certificate issued", 5_000);
    expect(issued.identity).toBe(REVIEWS);
    const nodeId = `sidecar~127.0.0.1~reviews-1.${APP_NS}~${APP_NS}.svc.cluster.local`;
    const proxy = await until("the proxy synced", async () => {
      const p = (await discovery!.syncz()).find((s) => s.node === nodeId);
      return p && isSynced(p as Parameters<typeof isSynced>[0]) ? p : undefined;
    });
    expect(proxy.node).toBe(nodeId);
    await agent.stop();
  }, 120_000);

  it("spec.meshConfig.defaultConfig.proxyMetadata.SECRET_TTL: a new pod's sidecar gets certificates that long", async () => {
    const patch = (defaultConfig: object | null) =>
      kube(["patch", "mesh", MESH, "--type=merge", "-p", JSON.stringify({ spec: { meshConfig: { defaultConfig } } })]);
    await patch({ proxyMetadata: { SECRET_TTL: "2h" } });
    try {
      // The operator renders it into the injection ConfigMap's template; the injector reads that for each pod.
      await until("the injection template with SECRET_TTL", async () => {
        const t = await kube([
          "get",
          "configmap",
          "weft-sidecar-injector",
          "-n",
          MESH_NS,
          "-o",
          "jsonpath={.data.config}",
        ]);
        return /name: SECRET_TTL\s+value: 2h/.test(t) ? true : undefined;
      });
      const pod = await injectedPod("reviews-ttl");
      const env = pod.spec.containers.find((c) => c.name === "weft-proxy")?.env ?? [];
      expect(env.filter((e) => e.name === "SECRET_TTL")).toEqual([{ name: "SECRET_TTL", value: "2h" }]);
      const logs: string[] = [];
      const before = Date.now();
      const agent = await runInjectedAgent(pod, {
        localAddress: `127.0.0.1:${securePort}`,
        onLog: (l) => logs.push(l),
      });
      agents.push(agent);
      await until(
        "the sidecar ready",
        async () => ((await agent.readiness()).status === 200 ? true : undefined),
        60_000,
      );
      const after = Date.now();
      // The certificate the agent holds: signed between `before` and `after`, valid 2 h from then.
      const until_ = logs.map((l) => /certificate for (\S+) until (\S+);/.exec(l)).find(Boolean);
      expect(until_?.[1]).toBe(REVIEWS);
      const notAfter = Date.parse(until_![2]!);
      expect(notAfter).toBeGreaterThanOrEqual(before + 2 * 3600_000 - 1000); // ISO times are to the ms; CA to the s
      expect(notAfter).toBeLessThanOrEqual(after + 2 * 3600_000 + 1000);
      await agent.stop();
    } finally {
      await patch(null);
    }
  }, 120_000);

  it.each([
    [
      "an expired token",
      () => expiredToken(APP_NS, "reviews"),
      /^not ready: no workload certificate: token refused by TokenReview: .*expired/,
    ],
    [
      "a token for another audience",
      () => kube(["create", "token", "reviews", "-n", APP_NS, "--duration=10m"]).then((t) => t.trim()),
      /^not ready: no workload certificate: token refused by TokenReview: .*audience/,
    ],
    [
      "another namespace's token",
      () =>
        kube(["create", "token", "reviews", "-n", OTHER_NS, "--audience=istio-ca", "--duration=10m"]).then((t) =>
          t.trim(),
        ),
      new RegExp(
        `^not ready: no workload certificate: CSR asks for SAN url:${REVIEWS}; only spiffe://cluster.local/ns/${OTHER_NS}/sa/reviews may be issued`,
      ),
    ],
  ])(
    "%s: the CSR is refused with the reason, the sidecar stays unready and says why",
    async (_what, token, reason) => {
      const pod = await getJson<InjectedPod>(["get", "pod", "reviews-1", "-n", APP_NS]);
      const logs: string[] = [];
      const agent = await runInjectedAgent(pod, {
        localAddress: `127.0.0.1:${securePort}`,
        token: await token(),
        onLog: (l) => logs.push(l),
      });
      agents.push(agent);
      const body = await until("the refusal's reason on /healthz/ready", async () => {
        const r = await agent.readiness();
        return r.status === 503 && reason.test(r.body) ? r.body : undefined;
      });
      const why = body.replace(/^not ready: no workload certificate: /, "").trim();
      expect(logs.some((l) => l.includes(`certificate request failed: ${why}`))).toBe(true);
      expect((await agent.readiness()).status).toBe(503);
      await agent.stop();
    },
    60_000,
  );
});
