// A bad VirtualService forced past the webhook: discovery rejects it on its own (named in /debug/configz), so no
// proxy ever sees it. A NACK no door can see (a proxy refusing valid config, as a real one refuses a port another
// process holds): the proxy keeps its last good routes, /debug/syncz shows the error, discovery's report reaches
// the operator, and the MeshInstallation says ProxiesSynced=False with the reason; `kubectl get mesh` shows real
// PROXIES and SYNCED values throughout. Stopped, discovery withdraws its report.
import type { MeshInstallation } from "../../operator/api/types.js";
import { TYPE } from "../../proxy/xds/types.js";
import { applyBookinfo, applyNetworking, sidecarId } from "./support/bookinfo.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { getJson, kube, kubectl } from "./support/kubectl.js";
import { condition } from "./support/mesh.js";
import { operatorAndMesh } from "./support/operator.js";
import { CheckingProxy } from "./support/proxy-client.js";
import { poll } from "../../hack/local/procs.js";

const MESH = "nacks";
const MESH_NS = "weft-nacks";
const APP_NS = "bookinfo-nacks";
const REVIEWS_V1 = `outbound|9080|v1|reviews.${APP_NS}.svc.cluster.local`;

const meshYaml = `apiVersion: weft.dev/v1alpha1
kind: MeshInstallation
metadata: { name: ${MESH} }
spec: { version: 0.2.0, namespace: ${MESH_NS}, discovery: { replicas: 1 } }
`;

// The regex doesn't compile: the webhook would deny it, but with no webhook in the way the API server stores it.
const badReviews = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: ${APP_NS} }
spec:
  hosts: [reviews]
  http:
  - match: [{ uri: { regex: "/reviews/(unclosed" } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
`;

// Valid, but this test's proxy refuses route tables that mention x-refuse-me.
const refusedReviews = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: ${APP_NS} }
spec:
  hosts: [reviews]
  http:
  - match: [{ headers: { x-refuse-me: { exact: "yes" } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
`;

async function meshRow(): Promise<{ proxies: string; synced: string }> {
  const row = (await kube(["get", "mesh", MESH, "--no-headers"])).trim().split(/\s+/);
  return { proxies: row[4] ?? "", synced: row[5] ?? "" };
}

const proxiesSynced = (m: MeshInstallation) => condition(m, "ProxiesSynced");

describe("discovery against the cluster, with a proxy that NACKs", () => {
  const f = operatorAndMesh("discovery-nack-test", MESH);
  let discovery: DiscoveryProcess | undefined;
  let proxy: CheckingProxy | undefined;

  beforeAll(async () => {
    await kube(["apply", "-f", "-"], meshYaml);
    await kube(["wait", "--for=condition=Ready", `mesh/${MESH}`, "--timeout=60s"]);
    await applyBookinfo(APP_NS);
    await applyNetworking(APP_NS, "destination-rule-all.yaml", "virtual-service-all-v1.yaml");
    discovery = await DiscoveryProcess.start(MESH_NS, MESH);
  }, 120_000);

  afterAll(async () => {
    proxy?.close();
    await discovery?.stop();
    await kubectl(["delete", "namespace", APP_NS, "--wait=false"]);
  });

  it("reports a connected, synced proxy: ProxiesSynced=True and kubectl get mesh shows 1 proxy, 1 synced", async () => {
    proxy = new CheckingProxy(discovery!.xdsTarget, sidecarId("productpage", APP_NS));
    await proxy.until(
      () => proxy!.clusters().includes(REVIEWS_V1) && proxy!.routes().has("9080"),
      15_000,
      "Bookinfo's clusters and routes",
    );
    const synced = await f.mesh.until(
      (m) => proxiesSynced(m)?.status === "True" && m.status?.proxies?.connected === 1 && m.status.proxies.synced === 1,
      15_000,
      "ProxiesSynced=True with one proxy",
    );
    expect(proxiesSynced(synced)?.reason).toBe("Synced");
    expect(await meshRow()).toEqual({ proxies: "1", synced: "1" });
  });

  // Was: the bad regex reached the proxy, which NACKed it. Discovery now rejects an invalid object on its own.
  it("a bad regex forced past the webhook is rejected by discovery, named; the proxy never sees it", async () => {
    const routesBefore = JSON.stringify(proxy!.routes().get("9080"));
    await kube(["apply", "-f", "-"], badReviews);
    const configz = await poll("discovery naming the rejected VirtualService", async () => {
      const z = (await (await fetch(`http://127.0.0.1:${discovery!.monitoringPort}/debug/configz`)).json()) as {
        rejected: { name: string; errors: string[]; keptPrevious: boolean }[];
      };
      return z.rejected.find((r) => r.name === "reviews");
    });
    expect(configz).toMatchObject({
      keptPrevious: true,
      errors: [expect.stringMatching(/^spec\.http\[0\]\.match\[0\]\.uri\.regex: .*\(unclosed/)],
    });
    expect(proxy!.nacks).toEqual([]);
    expect(JSON.stringify(proxy!.routes().get("9080"))).toBe(routesBefore);
  });

  it("a NACK no door can see: the proxy keeps its routes, syncz and the MeshInstallation show why", async () => {
    const routesBefore = JSON.stringify(proxy!.routes().get("9080"));
    f.mesh.reset();
    proxy!.refuse = (type, json) =>
      type === TYPE.route && JSON.stringify(json).includes("x-refuse-me") ? "refused: x-refuse-me" : undefined;
    await kube(["apply", "-f", "-"], refusedReviews);

    await proxy!.until(() => proxy!.nacks.length > 0, 15_000, "a NACK");
    expect(proxy!.nacks[0]).toMatchObject({ type: TYPE.route, error: expect.stringContaining("x-refuse-me") });
    expect(JSON.stringify(proxy!.routes().get("9080"))).toBe(routesBefore); // the last good config still serves

    const syncz = await discovery!.syncz();
    expect(syncz).toHaveLength(1);
    expect(syncz[0]?.types["RDS"]?.nack?.error).toContain("x-refuse-me");

    // Syncing (also False) comes first, while the push is in flight: wait for the NACK's own reason.
    const rejected = await f.mesh.until(
      (m) => proxiesSynced(m)?.reason === "ConfigRejected",
      15_000,
      "ProxiesSynced=False ConfigRejected",
    );
    expect(proxiesSynced(rejected)).toMatchObject({
      status: "False",
      message: expect.stringContaining("x-refuse-me"),
    });
    expect(rejected.status?.proxies).toMatchObject({ connected: 1, nacked: 1, synced: 0 });
    expect(await meshRow()).toEqual({ proxies: "1", synced: "0" });
  });

  it("fixing the VirtualService brings ProxiesSynced back to True", async () => {
    f.mesh.reset();
    await applyNetworking(APP_NS, "virtual-service-reviews-test-v2.yaml");
    await f.mesh.until(
      (m) => proxiesSynced(m)?.status === "True" && m.status?.proxies?.synced === 1,
      15_000,
      "ProxiesSynced=True again",
    );
    expect(JSON.stringify(proxy!.routes().get("9080"))).toContain("end-user");
    expect(await meshRow()).toEqual({ proxies: "1", synced: "1" });
  });

  it("a discovery that stops (SIGTERM) withdraws its report: its proxies no longer count", async () => {
    f.mesh.reset();
    expect(await discovery!.stop()).toBe(0);
    const m = await f.mesh.until((o) => proxiesSynced(o)?.status === "Unknown", 15_000, "ProxiesSynced=Unknown");
    expect(proxiesSynced(m)?.reason).toBe("NoReport");
    const cm = await getJson<{ data?: Record<string, string> }>([
      "get",
      "configmap",
      "weft-proxy-status",
      "-n",
      MESH_NS,
    ]);
    expect(Object.keys(cm.data ?? {})).toEqual([]);
  });
});
