// The day-two CLI against the process cluster: an operator-installed mesh, weftd as a local process (Kubernetes
// source, its webhooks on 127.0.0.1) and a proxy connected to it. `weft check` passes on the healthy install, then
// fails with the hint for each of: a proxy NACKing, the operator stopped, a webhook's CA bundle wrong, the injector
// ConfigMap broken; restarting the operator (the hint) repairs the last two. `weft proxy-status` shows SYNCED, then
// NACKED with the error.
import { generateCa } from "../../operator/runtime/pki.js";
import { TYPE } from "../../proxy/xds/types.js";
import { applyBookinfo, applyNetworking, sidecarId } from "./support/bookinfo.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { kube, kubectl } from "./support/kubectl.js";
import { condition } from "./support/mesh.js";
import { operatorAndMesh, OperatorProcess } from "./support/operator.js";
import { CheckingProxy } from "./support/proxy-client.js";
import { failedChecks, weft } from "../support/weft-cli.js";
import { poll } from "../../hack/local/procs.js";

const MESH = "cli";
const MESH_NS = "weft-cli";
const APP_NS = "bookinfo-cli";
const REPLICA = "weftd-cli-0";
const b64 = (s: string) => Buffer.from(s).toString("base64");

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

describe("weft check, proxy-status and proxy-config against the process cluster", () => {
  const f = operatorAndMesh("cli-test", MESH);
  let discovery: DiscoveryProcess | undefined;
  let proxy: CheckingProxy | undefined;
  const check = () =>
    weft([
      "check",
      "--mesh",
      MESH,
      "--operator-namespace",
      "weft-operator",
      "--webhook-address",
      `127.0.0.1:${discovery!.webhookPort}`,
    ]);
  const status = () => weft(["proxy-status", "--discovery-address", `127.0.0.1:${discovery!.monitoringPort}`]);
  const synced = () =>
    f.mesh.until(
      (m) => condition(m, "ProxiesSynced")?.status === "True" && m.status?.proxies?.synced === 1,
      30_000,
      "ProxiesSynced=True with one proxy",
    );

  beforeAll(async () => {
    await kube(["wait", "--for=delete", `mesh/${MESH}`, "--timeout=60s"]).catch(() => undefined); // an earlier run's
    await kube(
      ["apply", "-f", "-"],
      `apiVersion: weft.dev/v1alpha1\nkind: MeshInstallation\nmetadata: { name: ${MESH} }\nspec: { version: 0.2.0, namespace: ${MESH_NS}, discovery: { replicas: 1 } }\n`,
    );
    await kube(["wait", "--for=condition=Ready", `mesh/${MESH}`, "--timeout=60s"]);
    await applyBookinfo(APP_NS);
    await applyNetworking(APP_NS, "destination-rule-all.yaml", "virtual-service-all-v1.yaml");
    discovery = await DiscoveryProcess.start(MESH_NS, MESH, [`--pod-name=${REPLICA}`, `--watch-namespace=${APP_NS}`]);
    proxy = new CheckingProxy(discovery.xdsTarget, sidecarId("productpage", APP_NS));
    await proxy.until(() => proxy!.routes().has("9080"), 15_000, "Bookinfo's routes");
    await synced();
  }, 180_000);

  afterAll(async () => {
    proxy?.close();
    await discovery?.stop();
    await kubectl(["delete", "namespace", APP_NS, "--wait=false"]);
  });

  it("weft check passes on the healthy install, every check ✔, exit 0", async () => {
    const r = await check();
    expect(failedChecks(r.stdout)).toEqual([]);
    expect(r.code).toBe(0);
    for (const name of [
      "CRD meshinstallations.weft.dev",
      "operator leader elected: leader cli-test",
      `mesh ${MESH}: Ready`,
      `mesh ${MESH}: weftd available`,
      `mesh ${MESH}: validating webhook weft-validator-${MESH} has a valid CA bundle`,
      `mesh ${MESH}: mutating webhook weft-sidecar-injector-${MESH} has a valid CA bundle`,
      `mesh ${MESH}: injector ConfigMap parses`,
      `mesh ${MESH}: every proxy connected and synced: 1 connected, 1 synced`,
      `mesh ${MESH}: sidecar versions`,
    ])
      expect(r.stdout).toContain(`✔ ${name}`);
    expect(r.stdout).toMatch(/Status check results are ✔\n$/);
  });

  it("weft proxy-status shows the proxy SYNCED on all four types, with its discovery replica", async () => {
    const r = await status();
    expect(r.code).toBe(0);
    const [header, row, ...rest] = r.stdout.trim().split("\n");
    expect(header!.split(/\s{2,}/)).toEqual([
      "NAME",
      "CLUSTER",
      "CDS",
      "LDS",
      "EDS",
      "RDS",
      "ECDS",
      "ISTIOD",
      "VERSION",
    ]);
    expect(row!.split(/\s{2,}/)).toEqual([
      `productpage-v1-test.${APP_NS}`,
      "local",
      "SYNCED",
      "SYNCED",
      "SYNCED",
      "SYNCED",
      "NOT SENT",
      REPLICA,
    ]);
    expect(rest).toEqual([]);
  });

  it("through the API server's pod proxy: KWOK's weftd pods have no server behind them, so one line says so", async () => {
    const r = await weft(["proxy-status", "-n", MESH_NS]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(`^weft proxy-status: weftd pod ${MESH_NS}/weftd-\\S+ through the API server: .*--discovery-address`),
    );
  });

  it("a proxy NACKing: proxy-status shows NACKED with the error, and check fails with its hint", async () => {
    f.mesh.reset();
    proxy!.refuse = (type, json) =>
      type === TYPE.route && JSON.stringify(json).includes("x-refuse-me") ? "refused: x-refuse-me" : undefined;
    try {
      await kube(["apply", "-f", "-"], refusedReviews);
      await proxy!.until(() => proxy!.nacks.length > 0, 15_000, "a NACK");

      const s = await status();
      const row = s.stdout.split("\n")[1]!.split(/\s{2,}/);
      expect(row.slice(2, 6)).toEqual(["SYNCED", "SYNCED", "SYNCED", "NACKED"]);
      expect(s.stdout).toContain(`NACKED productpage-v1-test.${APP_NS} RDS: 9080: refused: x-refuse-me`);

      // "Syncing" comes first (the push is out, not yet answered); the NACK reaches the report a moment later.
      await f.mesh.until(
        (m) => condition(m, "ProxiesSynced")?.reason === "ConfigRejected",
        30_000,
        "ProxiesSynced=False ConfigRejected",
      );
      const r = await check();
      expect(r.code).toBe(1);
      expect(failedChecks(r.stdout)).toEqual([
        {
          line: expect.stringMatching(
            new RegExp(
              `^✘ mesh ${MESH}: every proxy connected and synced: 1 connected, 0 synced; .* RDS NACKED: 9080: refused: x-refuse-me`,
            ),
          ),
          hint: expect.stringContaining(`weft proxy-status -n ${MESH_NS}`),
        },
      ]);
    } finally {
      // Undone whatever happened above, so that the next tests see a healthy mesh.
      proxy!.refuse = () => undefined;
      f.mesh.reset();
      await applyNetworking(APP_NS, "virtual-service-all-v1.yaml");
    }
    await synced();
    expect((await check()).code).toBe(0);
  });

  it("the operator stopped: check names the Lease and says how to start it", async () => {
    expect(await f.operator.stop()).toBe(0);
    const r = await check();
    expect(r.code).toBe(1);
    expect(failedChecks(r.stdout)).toEqual([
      {
        line: "✘ operator leader elected: the Lease has no holder: the operator stopped",
        hint: expect.stringContaining(
          "start the operator: kubectl -n weft-operator rollout restart deploy/weft-operator",
        ),
      },
    ]);
  });

  it("a webhook's CA bundle wrong, and the injector ConfigMap broken: each fails with its hint; the operator repairs both", async () => {
    const other = await generateCa("not-the-mesh-ca", 1);
    await kube([
      "patch",
      "validatingwebhookconfiguration",
      `weft-validator-${MESH}`,
      "--type=json",
      "-p",
      JSON.stringify([{ op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: b64(other.certPem) }]),
    ]);
    await kube([
      "patch",
      "configmap",
      "weft-sidecar-injector",
      "-n",
      MESH_NS,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { config: "templates: [unclosed" } }),
    ]);
    let r;
    try {
      r = await check();
    } finally {
      // What the hint says, and what the fixture's cleanup needs: the operator running again.
      f.operator = await OperatorProcess.start("cli-test", []);
    }
    expect(r.code).toBe(1);
    const failed = failedChecks(r.stdout);
    expect(failed.map((x) => x.line.split(":")[0])).toEqual([
      "✘ operator leader elected",
      `✘ mesh ${MESH}`,
      `✘ mesh ${MESH}`,
    ]);
    expect(failed[1]).toEqual({
      line: expect.stringMatching(
        new RegExp(
          `^✘ mesh ${MESH}: validating webhook weft-validator-${MESH} has a valid CA bundle: validation.weft.dev: caBundle is not the mesh CA \\(Secret ${MESH_NS}/weft-ca-secret`,
        ),
      ),
      hint: expect.stringContaining(
        "the operator re-applies it: kubectl -n weft-operator rollout restart deploy/weft-operator",
      ),
    });
    expect(failed[2]).toEqual({
      line: expect.stringMatching(new RegExp(`^✘ mesh ${MESH}: injector ConfigMap parses: key config: `)),
      hint: expect.stringContaining(`the operator owns ${MESH_NS}/weft-sidecar-injector`),
    });

    // The operator, started again, re-applies both on its first reconcile.
    const last = await poll(
      "weft check passing again",
      async () => {
        const again = await check();
        return again.code === 0 ? again : undefined;
      },
      60_000,
      500,
    );
    expect(failedChecks(last.stdout)).toEqual([]);
    expect(last.code).toBe(0);
  });
});
