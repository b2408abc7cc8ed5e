// Sidecar injection, called by the real kube-apiserver: discovery runs on 127.0.0.1 serving /inject with a cert from
// the mesh CA; the operator's own MutatingWebhookConfiguration (its selectors, pointed at that URL) and injection
// ConfigMap (from render()) are applied. Pods KWOK runs come up with the weft-proxy container, Ready.
import type { KubernetesObject } from "@kubernetes/client-node";
import { normalizeSpec } from "../../operator/api/spec.js";
import { render } from "../../operator/install/render.js";
import { generateCa } from "../../operator/runtime/pki.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { getJson, kube, kubectl } from "./support/kubectl.js";

const MESH_NS = "weft-inject";
const APP_NS = "inject-app";
const PLAIN_NS = "inject-plain";
const WEBHOOK = "weft-test-sidecar-injector";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const spec = normalizeSpec({
  version: "0.2.0",
  hub: "registry.example.com/weft",
  namespace: MESH_NS,
  injection: { policy: "Enabled", honorIstioLabel: true },
});

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: { name: string; image: string; args?: string[] }[] };
}
type Webhooks = KubernetesObject & { webhooks: { clientConfig: object }[] };

/** The operator's objects: the mesh CA Secret, the injection ConfigMap, and its webhooks pointed at a local URL. */
function operatorObjects(
  ca: { certPem: string; keyPem: string },
  port: number,
): { secret: KubernetesObject; configMap: KubernetesObject; webhook: Webhooks } {
  const { objects } = render(spec, { name: "inject", uid: "00000000-0000-0000-0000-000000000000", ca });
  // No owner references: the MeshInstallation they'd name doesn't exist, and the garbage collector would delete them.
  const bare = (o: KubernetesObject) => ({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } });
  const find = (kind: string) =>
    bare(
      objects.find((o) => o.kind === kind && (kind !== "ConfigMap" || o.metadata?.name === "weft-sidecar-injector"))!,
    );
  const mwc = find("MutatingWebhookConfiguration") as Webhooks;
  const webhook = {
    ...mwc,
    metadata: { name: WEBHOOK },
    webhooks: mwc.webhooks.map((w) => ({
      ...w,
      clientConfig: { url: `https://127.0.0.1:${port}/inject`, caBundle: b64(ca.certPem) },
    })),
  };
  return { secret: find("Secret"), configMap: find("ConfigMap"), webhook };
}

const podJson = (
  ns: string,
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: { app: name, ...labels }, annotations },
    spec: { containers: [{ name: "app", image: "example.com/app:1" }] },
  });
const proxyOf = (pod: Pod) => pod.spec.containers.find((c) => c.name === "weft-proxy");

describe("sidecar injection, called by kube-apiserver", () => {
  let discovery: DiscoveryProcess | undefined;
  let objs: ReturnType<typeof operatorObjects>;

  beforeAll(async () => {
    await kube(
      ["apply", "-f", "-"],
      [MESH_NS, APP_NS, PLAIN_NS]
        .map((n) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`)
        .join("---\n"),
    );
    await kube(["label", "namespace", APP_NS, "istio-injection=enabled", "--overwrite"]);
    // The port is known only once discovery runs, and discovery needs the CA Secret first: render twice.
    const ca = await generateCa(`weft-ca.${MESH_NS}`, 30);
    await kube(["apply", "-f", "-"], JSON.stringify(operatorObjects(ca, 0).secret));
    discovery = await DiscoveryProcess.start(MESH_NS, "inject", [`--watch-namespace=${APP_NS}`]);
    objs = operatorObjects(ca, discovery.webhookPort);
    await kube(["apply", "-f", "-"], JSON.stringify(objs.configMap));
    await kube(["apply", "-f", "-"], JSON.stringify(objs.webhook));
    // The API server picks a new webhook configuration up within a moment: probe with server-side dry runs.
    for (let i = 0; i < 100; i++) {
      const probe = await kubectl(["create", "--dry-run=server", "-o", "json", "-f", "-"], podJson(APP_NS, "probe"));
      if (probe.code === 0 && probe.stdout.includes("weft-proxy")) break;
    }
  }, 90_000);

  afterAll(async () => {
    await kubectl(["delete", "mutatingwebhookconfiguration", WEBHOOK, "--ignore-not-found"]);
    await discovery?.stop();
    await kubectl(["delete", "namespace", APP_NS, PLAIN_NS, MESH_NS, "--wait=false"]);
  });

  it("a Deployment's pod in an istio-injection=enabled namespace runs with weft-proxy, the mesh's image and binaryPath", async () => {
    await kube(["create", "deployment", "reviews", "-n", APP_NS, "--image=example.com/reviews:1"]);
    await kube(["wait", "-n", APP_NS, "--for=condition=Available", "deployment/reviews", "--timeout=60s"]);
    await kube(["wait", "-n", APP_NS, "--for=condition=Ready", "pod", "-l", "app=reviews", "--timeout=60s"]);
    const pods = await getJson<{ items: (Pod & { status: { phase: string } })[] }>([
      "get",
      "pods",
      "-n",
      APP_NS,
      "-l",
      "app=reviews",
    ]);
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0]!;
    expect(pod.status.phase).toBe("Running");
    // (This asserted ["reviews", "weft-proxy"]: injected pods carry the engine carrier now.)
    expect(pod.spec.containers.map((c) => c.name)).toEqual(["reviews", "weft-proxy", "weft-engine-carrier"]);
    const proxy = proxyOf(pod)!;
    expect(proxy.image).toBe("registry.example.com/weft/weft:0.2.0");
    // (This asserted ["proxy", "sidecar", ...]: args `weft proxy` refuses with exit 2; these are the ones it runs.)
    expect(proxy.args).toEqual([
      "proxy",
      "--discovery-address",
      `weftd.${MESH_NS}.svc:15012`,
      "--type",
      "sidecar",
      "--interception-mode",
      "REDIRECT",
      "--binary-path",
      spec.proxy.binaryPath,
    ]);
    expect(pod.metadata.labels).toMatchObject({
      "security.istio.io/tlsMode": "istio",
      "service.istio.io/canonical-name": "reviews",
    });
    expect(JSON.parse(pod.metadata.annotations?.["sidecar.istio.io/status"] ?? "{}")).toMatchObject({
      containers: ["weft-proxy", "weft-engine-carrier"],
    });
  });

  it('a pod labelled sidecar.istio.io/inject: "false" is not injected', async () => {
    const pod = JSON.parse(
      await kube(
        ["create", "-o", "json", "-f", "-"],
        podJson(APP_NS, "opted-out", { "sidecar.istio.io/inject": "false" }),
      ),
    ) as Pod;
    expect(pod.spec.containers.map((c) => c.name)).toEqual(["app"]);
  });

  it("a pod in an unlabelled namespace is not injected", async () => {
    const pod = JSON.parse(await kube(["create", "-o", "json", "-f", "-"], podJson(PLAIN_NS, "plain"))) as Pod;
    expect(pod.spec.containers.map((c) => c.name)).toEqual(["app"]);
  });

  it("sidecar.istio.io/proxyImage and proxy.istio.io/config binaryPath swap the engine, as with MOSN", async () => {
    const annotations = {
      "sidecar.istio.io/proxyImage": "example.com/mosn:1.0",
      "proxy.istio.io/config": "binaryPath: /usr/local/bin/mosn",
    };
    const pod = JSON.parse(
      await kube(["create", "-o", "json", "-f", "-"], podJson(APP_NS, "mosn", {}, annotations)),
    ) as Pod;
    expect(proxyOf(pod)?.image).toBe("example.com/mosn:1.0");
    expect(proxyOf(pod)?.args).toContain("/usr/local/bin/mosn");
  });

  // Each case its own pod name: a pod one case let through must not turn the next case's apply into an update.
  it.each([
    ["a ProxyConfig field Weft doesn't implement", "unimplemented", "tracing: {}", "tracing: not implemented by Weft"],
    [
      "a proxyMetadata value the proxy can't read",
      "bad-ttl",
      "proxyMetadata: {SECRET_TTL: soon}",
      "proxyMetadata.SECRET_TTL:",
    ],
    ["text that isn't YAML", "not-yaml", "binaryPath: [", "not YAML"],
  ])("kubectl apply of a pod with %s in proxy.istio.io/config fails, naming it", async (_what, name, config, field) => {
    const r = await kubectl(["apply", "-f", "-"], podJson(APP_NS, name, {}, { "proxy.istio.io/config": config }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`denied the request: metadata.annotations["proxy.istio.io/config"]: ${field}`);
    expect((await kubectl(["get", "pod", name, "-n", APP_NS])).code).not.toBe(0);
  });

  it("a malformed template lets the pod through unpatched, with a warning naming the ConfigMap key", async () => {
    const broken = {
      ...objs.configMap,
      data: {
        ...(objs.configMap as { data: Record<string, string> }).data,
        config: "policy: enabled\ntemplates:\n  sidecar: 'containers: ['\n",
      },
    };
    await kube(["apply", "-f", "-"], JSON.stringify(broken));
    const r = await kubectl(["create", "-o", "json", "-f", "-"], podJson(APP_NS, "broken"));
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Pod).spec.containers.map((c) => c.name)).toEqual(["app"]);
    expect(r.stderr).toContain(`weft sidecar not injected: ConfigMap ${MESH_NS}/weft-sidecar-injector key "config"`);
    const logged = await discovery!.waitForLog((l) => l.msg === "sidecar not injected", 5_000);
    expect(logged).toMatchObject({ configMap: `${MESH_NS}/weft-sidecar-injector`, key: "config" });
    await kube(["apply", "-f", "-"], JSON.stringify(objs.configMap));
  });
});
