// Who gets a gateway's TLS key, against the process cluster: `weft discovery` in Kubernetes mode running as weftd
// (the operator's rendering of its RBAC), a kubernetes.io/tls Secret made with kubectl, a Gateway with credentialName,
// and xDS clients over mTLS with workload certificates weftd's CA issued for two ServiceAccounts of the namespace
// (their tokens from TokenRequest). Both claim to be the namespace's gateway (`router~...`: the client's own word).
// The ServiceAccount a Role lets get/list/watch secrets (as Istio's gateway chart grants it) gets the Secret, and a
// gateway engine fed by it presents that certificate; the other gets none, even asking for it by name, and discovery
// says which proxy, ServiceAccount and namespace; a Role granted later takes effect on the same connection once the
// cached denial expires (--secret-review-ttl), and one taken away once the allowance does; a rotation with kubectl
// reaches new handshakes.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../../hack/paths.js";
import type { ProxySync } from "../../operator/discovery/ads/tracker.js";
import { generateCa, issueCert, type KeyPair } from "../../operator/runtime/pki.js";
import { XdsClient } from "../../proxy/agent/xds-client.js";
import { meshCredentials, requestCertificate, type WorkloadCert } from "../../proxy/agent/ca-client.js";
import { workloadSecrets } from "../../proxy/agent/secrets.js";
import { Engine } from "../../proxy/engine/engine.js";
import type { DiscoveryResponse } from "../../proxy/xds/ads.js";
import { AdsClient } from "../../proxy/xds/client.js";
import { TYPE } from "../../proxy/xds/types.js";
import { shopGateway } from "../support/discovery/mesh.js";
import { backend, get, type Backend } from "../support/engine/helpers.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { kube, kubectl, serviceAccountKubeconfig } from "./support/kubectl.js";
import { operatorAndMesh } from "./support/operator.js";

const MESH = "sds-authz";
const MESH_NS = "weft-sds-authz";
const NS = "sds-authz-shop";
const TTL_S = 3;
const router = (pod: string) => `router~127.0.0.1~${pod}.${NS}~${NS}.svc.cluster.local`;
const CREDENTIAL = "kubernetes://shop-cert";

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A proxy that holds one SDS subscription by name (what an attacker would ask for), ACKing every response. */
class SecretAsker {
  readonly responses: DiscoveryResponse[] = [];
  private readonly ads: AdsClient;
  constructor(address: string, root: string, cert: WorkloadCert, node: string) {
    this.ads = new AdsClient({
      server: address,
      node: { id: node, user_agent_name: "envoy" },
      credentials: () => meshCredentials(root, cert),
      backoffMs: false,
      onResponse: (r) => void this.responses.push(r),
    });
    this.ads.subscribe(TYPE.secret, [CREDENTIAL]);
  }
  /** The Secrets of the latest response, once there is one. */
  get latest(): string[] | undefined {
    const r = this.responses.at(-1);
    return r && r.resources.map((any) => any.type_url ?? "");
  }
  close(): void {
    this.ads.close();
  }
}

describe("gateway Secrets go only to a ServiceAccount that may read them (SubjectAccessReview)", () => {
  const fixture = operatorAndMesh("sds-authz-test", MESH);
  let discovery: DiscoveryProcess;
  let app: Backend;
  let shopCa: KeyPair;
  let meshRoot = "";
  let port = 0;
  let secure = "";
  const dir = mkdtempSync(join(tmpdir(), "weft-sds-authz-"));
  const stops: (() => Promise<void> | void)[] = [];

  /** `kubectl create secret tls` (or, with `apply`, its rotation idiom) with a leaf for shop.example.com. */
  async function tlsSecret(cn: string, apply = false): Promise<void> {
    const leaf = await issueCert(shopCa, { commonName: cn, dnsNames: ["shop.example.com"], usage: "server", days: 1 });
    writeFileSync(join(dir, "tls.crt"), leaf.certPem);
    writeFileSync(join(dir, "tls.key"), leaf.keyPem);
    const create = ["create", "secret", "tls", "shop-cert", "-n", NS, `--cert=${dir}/tls.crt`, `--key=${dir}/tls.key`];
    if (!apply) await kube(create);
    else await kube(["apply", "-f", "-"], await kube([...create, "--dry-run=client", "-o", "yaml"]));
  }

  /** A workload certificate from weftd's CA on 15012 for ServiceAccount `sa`, its token from TokenRequest. */
  async function certFor(sa: string): Promise<WorkloadCert> {
    const token = (await kube(["create", "token", sa, "-n", NS, "--audience=istio-ca", "--duration=10m"])).trim();
    return requestCertificate({ address: `127.0.0.1:${discovery.securePort}`, rootPem: meshRoot }, token);
  }

  const syncz = async (node: string): Promise<Omit<ProxySync, "connection"> | undefined> =>
    (await discovery.syncz()).find((p) => p.node === node);

  beforeAll(async () => {
    const sa = (n: string) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: ${n}, namespace: ${NS} }\n`;
    await kube(
      ["apply", "-f", "-"],
      [`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`, sa("gateway"), sa("app")].join("---\n"),
    );
    // As Istio's gateway chart: a Role on secrets get/watch/list, bound to the gateway's ServiceAccount.
    await kube(["create", "role", "gateway", "-n", NS, "--verb=get,watch,list", "--resource=secrets"]);
    await kube(["create", "rolebinding", "gateway", "-n", NS, "--role=gateway", `--serviceaccount=${NS}:gateway`]);
    await kube(
      ["apply", "-f", "-"],
      `apiVersion: weft.dev/v1alpha1\nkind: MeshInstallation\nmetadata: { name: ${MESH} }\nspec: { version: 0.2.0, namespace: ${MESH_NS}, discovery: { replicas: 1 } }\n`,
    );
    await kube(["wait", "--for=condition=Ready", `mesh/${MESH}`, "--timeout=60s"]);
    expect(fixture.operator).toBeDefined();
    meshRoot = Buffer.from(
      await kube(["get", "secret", "weft-ca-secret", "-n", MESH_NS, "-o", "jsonpath={.data.ca-cert\\.pem}"]),
      "base64",
    ).toString("utf8");

    app = await backend("app", (_req, res) => res.end("shop"));
    [port] = (await freePorts(1, "0.0.0.0")) as [number];
    shopCa = await generateCa("shop root", 1);
    await tlsSecret("shop v1");
    await kube(["apply", "-f", "-"], shopGateway(port, NS, app.port));
    // As weftd runs: with its ServiceAccount, so the rendered ClusterRole is what lets it make the reviews.
    const kubeconfig = await serviceAccountKubeconfig("weftd", MESH_NS);
    discovery = await DiscoveryProcess.start(MESH_NS, MESH, [
      `--kubeconfig=${kubeconfig}`,
      `--watch-namespace=${NS}`,
      `--secret-review-ttl=${TTL_S}s`,
    ]);
    secure = `127.0.0.1:${discovery.securePort}`;
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await discovery?.stop();
    await app?.close();
    await kubectl(["delete", "namespace", NS, "--wait=false", "--ignore-not-found"]);
  });

  it("the gateway's ServiceAccount (Role: secrets get/list/watch) gets the Secret: its engine presents the certificate", async () => {
    const cert = await certFor("gateway");
    expect(cert.identity).toBe(`spiffe://cluster.local/ns/${NS}/sa/gateway`);
    const engine = new Engine({ adminPort: false, statsPort: false, readyPort: false, drainTimeoutMs: 200 });
    await engine.start();
    const client = new XdsClient({
      address: secure,
      node: { id: router("gateway-0") },
      credentials: () => meshCredentials(meshRoot, cert),
      // As the agent: its workload certificate beside what discovery serves (SDS default and ROOTCA).
      shape: (r) => ({ ...r, secrets: [...(r.secrets ?? []), ...workloadSecrets(cert)] }),
      apply: (r) => engine.apply(r),
    });
    client.start();
    stops.push(
      () => client.stop(),
      () => engine.stop(),
    );
    await until("the gateway's HTTPS listener", () => (engine.listenerPort(`0.0.0.0_${port}`) > 0 ? true : undefined));
    const tls = { servername: "shop.example.com", ca: shopCa.certPem };
    const reply = await get(port, "/", {}, { tls });
    expect([reply.status, reply.body, reply.tls?.cn]).toEqual([200, "shop", "shop v1"]);
    expect(client.state.summary()["SDS"]).toMatchObject({ resources: 1 });
    expect((await syncz(router("gateway-0")))?.credentialsDenied).toBeUndefined();
    const answered = await discovery.waitForLog(
      (l) => l.msg === "gateway Secrets: SubjectAccessReview answered" && l.serviceAccount === "gateway",
      5_000,
    );
    expect([answered.namespace, answered.allowed]).toEqual([NS, true]);

    // A rotation with kubectl: new handshakes get the new certificate.
    await tlsSecret("shop v2", true);
    await until("the rotated certificate", async () =>
      (await get(port, "/", {}, { tls })).tls?.cn === "shop v2" ? true : undefined,
    );
  }, 60_000);

  let app0: SecretAsker | undefined;

  it("another ServiceAccount of the namespace claiming to be its gateway gets no Secret, even by name; discovery says why", async () => {
    app0 = new SecretAsker(secure, meshRoot, await certFor("app"), router("app-0"));
    stops.push(() => app0?.close());
    expect(await until("an SDS answer", () => app0?.latest)).toEqual([]);
    const reason = `app/${NS} is not authorized to read secrets: `;
    const proxy = await until("the proxy in /debug/syncz", () => syncz(router("app-0")));
    expect(proxy.credentialsDenied).toMatch(new RegExp(`^${reason}`));
    const said = await discovery.waitForLog((l) => l.msg?.startsWith("gateway Secrets denied") === true, 5_000);
    expect([said.node, said.serviceAccount, said.namespace]).toEqual([router("app-0"), "app", NS]);
    const configz = (await (await fetch(`http://127.0.0.1:${discovery.monitoringPort}/debug/configz`)).json()) as {
      warnings: string[];
    };
    expect(configz.warnings).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^Gateway/${NS}/edge: spec\\.servers\\[0\\]\\.tls\\.credentialName: ${reason}.*; the server is left out$`,
        ),
      ),
    );
  }, 60_000);

  it("a Role granted later reaches the same connection once the cached denial expires; taken away, once the allowance does", async () => {
    const asker = app0 as SecretAsker;
    const granted = Date.now();
    await kube(["create", "rolebinding", "app", "-n", NS, "--role=gateway", `--serviceaccount=${NS}:app`]);
    await until("the Secret pushed", () => (asker.latest?.length === 1 ? true : undefined), (TTL_S + 10) * 1000);
    expect(Date.now() - granted).toBeLessThan((TTL_S + 5) * 1000);
    expect((await syncz(router("app-0")))?.credentialsDenied).toBeUndefined();

    await kube(["delete", "rolebinding", "app", "-n", NS]);
    const revoked = Date.now();
    await until("the Secret withdrawn", () => (asker.latest?.length === 0 ? true : undefined), (5 * TTL_S + 10) * 1000);
    expect(Date.now() - revoked).toBeLessThan((5 * TTL_S + 5) * 1000);
    expect((await syncz(router("app-0")))?.credentialsDenied).toMatch(/is not authorized to read secrets/);
  }, 60_000);
});
