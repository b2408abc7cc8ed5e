// The in-place sidecar upgrade on the real node (issue #10): Bookinfo under load through the gateway while
// spec.proxy.tag goes from this build's version to NEXT_VERSION, the same package built as another version by
// `npm run image -- --version NEXT_VERSION` (hack/setup.sh builds it beside the other images). The operator patches
// each pod's engine carrier image; the kubelet restarts that container alone; the carrier copies the new engine into
// the pod's emptyDir; the agent hot-restarts onto it. Runs inside real-node.test.ts after bookinfo.ts, on its mesh.
import { spawn } from "node:child_process";
import { importImages } from "../../hack/cluster/node/node.js";
import { images } from "../../hack/image/main.js";
import { WEFT_VERSION } from "../../operator/api/version.js";
import { LoadProcess } from "../support/load-process.js";
import { getJson, kube } from "../integration/support/kubectl.js";
import { BOOKINFO_NS, gatewayAddresses } from "./bookinfo.js";
import { patchMesh, until } from "./http.js";

export const NEXT_VERSION = `${WEFT_VERSION}-next`;
const SIDECAR = "weft-proxy";
const CARRIER = "weft-engine-carrier";
const ENGINES = "/var/lib/weft/engines";

interface ContainerStatus {
  name: string;
  image: string;
  restartCount: number;
  state: { running?: unknown; waiting?: { reason?: string } };
}
interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { containers: Array<{ name: string; image: string }> };
  status: { containerStatuses?: ContainerStatus[] };
}
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Mesh {
  status?: { conditions?: Condition[]; proxies?: { versions?: Record<string, number> } };
}

/** Bookinfo's injected pods: those with a sidecar (the gateway is a Deployment of its own, not injected). */
const injectedPods = async () =>
  (await getJson<{ items: Pod[] }>(["get", "pods", "-n", BOOKINFO_NS])).items.filter(
    (p) => !p.metadata.deletionTimestamp && p.spec.containers.some((c) => c.name === SIDECAR),
  );
const mesh = () => getJson<Mesh>(["get", "mesh", "default"]);
const upgradedCondition = (m: Mesh) => m.status?.conditions?.find((c) => c.type === "ProxiesUpgraded");
const restarts = (pods: Pod[]) =>
  Object.fromEntries(
    pods.map((p) => [
      `${p.metadata.name} ${p.metadata.uid}`,
      Object.fromEntries((p.status.containerStatuses ?? []).map((c) => [c.name, c.restartCount])),
    ]),
  );

/** Runs a script with the sidecar's Node, in the sidecar (so it sees what the proxy sees), and parses its JSON. */
async function inSidecar<T>(pod: string, script: string): Promise<T> {
  return JSON.parse(await kube(["exec", pod, "-n", BOOKINFO_NS, "-c", SIDECAR, "--", "node", "-e", script])) as T;
}

export function proxyUpgradeOnTheRealNode(): void {
  const next = images(NEXT_VERSION).weft;

  beforeAll(() => {
    importImages((m) => process.stderr.write(`upgrade: ${m}\n`), NEXT_VERSION);
  }, 300_000);

  it("runs an engine carrier beside every sidecar, which put this build's engine where the proxy hot-restarts from", async () => {
    const pods = await injectedPods();
    expect(pods).toHaveLength(6);
    for (const p of pods) {
      const carrier = p.status.containerStatuses?.find((c) => c.name === CARRIER);
      expect([p.metadata.name, carrier?.image, carrier?.state.running !== undefined]).toEqual([
        p.metadata.name,
        images().weft.ref,
        true,
      ]);
    }
    // The sidecar sees the carrier's copy in the shared emptyDir, and can't write there.
    const seen = await inSidecar<{ bundles: string[]; writable: boolean }>(
      pods[0]?.metadata.name ?? "",
      `const fs = require("fs");
       let writable = true; try { fs.writeFileSync("${ENGINES}/x", ""); } catch { writable = false; }
       process.stdout.write(JSON.stringify({ bundles: fs.readdirSync("${ENGINES}"), writable }));`,
    );
    expect(seen).toEqual({ bundles: [WEFT_VERSION], writable: false });
    // Six sidecars and the gateway report this build's engine.
    await until(
      `status.proxies.versions {${WEFT_VERSION}: 7}`,
      async () => ((await mesh()).status?.proxies?.versions?.[WEFT_VERSION] === 7 ? true : undefined),
      60_000,
    );
  });

  it("moves every sidecar to another version in place under load: no failed request, only the carriers restart", async () => {
    const before = await injectedPods();
    const { podIP } = await gatewayAddresses();
    // Each product page goes gateway → productpage → details and reviews (→ ratings): through every sidecar.
    const load = new LoadProcess([`http://${podIP}:8080/productpage`], { rate: 20 });
    // What `kubectl get mesh -w` shows meanwhile (the README quotes it).
    const watch = spawn("kubectl", ["get", "mesh", "-w"], { env: process.env });
    let watched = "";
    watch.stdout.setEncoding("utf8").on("data", (c: string) => (watched += c));
    try {
      await load.until((c) => c.ok >= 40, 120_000, "40 product pages before the upgrade");
      await patchMesh({ proxy: { tag: NEXT_VERSION } });
      const done = await until(
        `ProxiesUpgraded True/Completed on ${NEXT_VERSION}`,
        async () => {
          const c = upgradedCondition(await mesh());
          return c?.status === "True" && c.reason === "Completed" && c.message.includes(NEXT_VERSION) ? c : undefined;
        },
        240_000,
      );
      expect(done.message).toBe(`6/6 upgraded to ${NEXT_VERSION} /usr/local/bin/weft-engine`);
      const okAtDone = load.last.ok;
      await load.until((c) => c.ok >= okAtDone + 40, 120_000, "40 product pages after the upgrade");
    } finally {
      const count = await load.stop();
      watch.kill();
      process.stderr.write(`upgrade: load ${JSON.stringify(count)}\nupgrade: kubectl get mesh -w\n${watched}`);
      if (count.failed > 0) await printEvents("upgrade");
      expect(count.failed).toBe(0);
      expect(count.errors).toEqual({});
    }
    // The six sidecars on the new engine; the gateway, a Deployment of its own, keeps its image's.
    expect((await mesh()).status?.proxies?.versions).toEqual({ [NEXT_VERSION]: 6, [WEFT_VERSION]: 1 });
    const after = await injectedPods();
    // The same pods; the app and the sidecar never restarted; each carrier restarted once, onto the new image.
    const expected = restarts(before);
    for (const counts of Object.values(expected)) counts[CARRIER] = (counts[CARRIER] ?? 0) + 1;
    expect(restarts(after)).toEqual(expected);
    for (const p of after) {
      const carrier = p.status.containerStatuses?.find((c) => c.name === CARRIER);
      expect([p.metadata.name, carrier?.image, carrier?.state.running !== undefined]).toEqual([
        p.metadata.name,
        next.ref,
        true,
      ]);
      // Each agent says so itself: the engine it forked from the new bundle, and the report it sends discovery.
      const dump = await inSidecar<{
        engine_version: string;
        binary_path: string;
        xds: { engine?: { version: string; engine: string; phase: string } };
      }>(
        p.metadata.name,
        `fetch("http://127.0.0.1:15000/config_dump").then(async (r) => {
           const d = await r.json();
           process.stdout.write(JSON.stringify({ engine_version: d.engine_version, binary_path: d.binary_path, xds: d.xds }));
         })`,
      );
      expect([p.metadata.name, dump.engine_version, dump.binary_path, dump.xds.engine]).toEqual([
        p.metadata.name,
        NEXT_VERSION,
        `${ENGINES}/${NEXT_VERSION}/usr/local/lib/weft/engine.mjs`,
        expect.objectContaining({ version: NEXT_VERSION, engine: NEXT_VERSION, phase: "Running" }),
      ]);
    }
  });

  it("a tag the node doesn't have: the carriers wait on the pull, the old engine serves, Failed names the pods, the upgrade pauses within maxUnavailable; the right tag resumes it", async () => {
    const missing = `${WEFT_VERSION}-missing`;
    const { podIP } = await gatewayAddresses();
    const load = new LoadProcess([`http://${podIP}:8080/productpage`], { rate: 20 });
    const tag = (t: string) => patchMesh({ proxy: { tag: t } });
    try {
      await load.until((c) => c.ok >= 20, 120_000, "20 product pages before the bad tag");
      await tag(missing);
      // The agents wait for the bits (60 s), then report the engine missing; the operator pauses there.
      // Each asked agent gives up on its own clock, so wait until the message names every pod that was asked.
      const isAsked = (p: Pod) => p.spec.containers.some((c) => c.name === CARRIER && c.image.endsWith(`:${missing}`));
      const { failed, asked } = await until(
        "ProxiesUpgraded False/Failed, naming every pod asked",
        async () => {
          const c = upgradedCondition(await mesh());
          if (c?.status !== "False" || c.reason !== "Failed") return undefined;
          const asked = (await injectedPods()).filter(isAsked);
          return asked.every((p) => c.message.includes(`${BOOKINFO_NS}/${p.metadata.name}`))
            ? { failed: c, asked }
            : undefined;
        },
        240_000,
      );
      // maxUnavailable defaults to 25%: of six pods, two at most are asked at once.
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.length).toBeLessThanOrEqual(2);
      expect(failed.message).toContain(`paused, ${asked.length} failed`);
      expect(failed.message).toMatch(new RegExp(`engine ${missing.replace(/\./g, "\\.")} \\S+ is missing`));
      for (const p of asked) {
        expect(failed.message).toContain(`${BOOKINFO_NS}/${p.metadata.name}`);
        const carrier = p.status.containerStatuses?.find((c) => c.name === CARRIER);
        // The kubelet restarts the changed container with a back-off (CrashLoopBackOff), then pulls and fails.
        expect(["ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff"]).toContain(carrier?.state.waiting?.reason);
      }
      // Every sidecar still runs the engine it had.
      expect((await mesh()).status?.proxies?.versions).toEqual({ [NEXT_VERSION]: 6, [WEFT_VERSION]: 1 });
      await tag(NEXT_VERSION);
      await until(
        `ProxiesUpgraded True/Completed on ${NEXT_VERSION} again`,
        async () => {
          const c = upgradedCondition(await mesh());
          return c?.status === "True" && c.reason === "Completed" && c.message.includes(NEXT_VERSION) ? c : undefined;
        },
        240_000,
      );
      const okAtDone = load.last.ok;
      await load.until((c) => c.ok >= okAtDone + 20, 120_000, "20 product pages after the fix");
    } finally {
      await tag(NEXT_VERSION); // whatever happened above: the suites after this one need a mesh that serves
      const count = await load.stop();
      process.stderr.write(`upgrade (missing tag): load ${JSON.stringify(count)}\n`);
      if (count.failed > 0) await printEvents("upgrade (missing tag)");
      expect(count.failed).toBe(0);
      expect(count.errors).toEqual({});
    }
  }, 600_000);
}

/** When requests failed: what Kubernetes saw meanwhile (probes, restarts), for whoever reads the log. */
async function printEvents(what: string): Promise<void> {
  const events = await kube(["get", "events", "-n", BOOKINFO_NS, "--sort-by=.lastTimestamp"]).catch(String);
  process.stderr.write(`${what}: events in ${BOOKINFO_NS}\n${events.split("\n").slice(-40).join("\n")}\n`);
}
