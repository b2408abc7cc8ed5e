// Bookinfo meshed on the real node, as a user runs it: samples/bookinfo/kube/ (the apps and the ingress gateway) in
// a namespace labelled istio-injection=enabled, Istio's networking YAML unchanged, traffic from the host to the
// gateway's pod IP and ClusterIP. Runs inside real-node.test.ts, after the mesh is installed and before `down`.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { launcherNodeFlags, PROXY_PROCESS_ENV } from "../../operator/api/process-env.js";
import { availableParallelism, loadavg } from "node:os";
import { REPO_ROOT } from "../../hack/cluster/layout.js";
import { images } from "../../hack/image/main.js";
import type { JsonObject } from "../../proxy/xds/types.js";
import { getJson, kube } from "../integration/support/kubectl.js";
import { httpGet, patchMesh, until } from "./http.js";
import { weft } from "../support/weft-cli.js";
import { quickStartBlocks, runLines } from "./readme.js";

export const BOOKINFO_NS = "bookinfo";
const weftImage = () => images().weft.ref;
const NET = `${REPO_ROOT}/samples/bookinfo/networking`;
const SIDECAR = "weft-proxy";

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase: string;
    podIP?: string;
    containerStatuses?: Array<{ name: string; ready: boolean; restartCount: number }>;
  };
}

export const bookinfoPods = async (): Promise<Pod[]> =>
  (await getJson<{ items: Pod[] }>(["get", "pods", "-n", BOOKINFO_NS])).items;

/** The pods that have a sidecar (everything but the gateway). */
const sidecarPods = async () =>
  (await bookinfoPods()).filter((p) => p.status.containerStatuses?.some((c) => c.name === SIDECAR));

export async function gatewayAddresses(): Promise<{ podIP: string; clusterIP: string }> {
  const pods = await getJson<{ items: Pod[] }>(["get", "pods", "-n", BOOKINFO_NS, "-l", "istio=ingressgateway"]);
  const svc = await getJson<{ spec: { clusterIP: string } }>(["get", "svc", "istio-ingressgateway", "-n", BOOKINFO_NS]);
  const podIP = pods.items[0]?.status.podIP;
  if (!podIP) throw new Error("the ingress gateway has no pod IP");
  return { podIP, clusterIP: svc.spec.clusterIP };
}

/** The reviews version that served a product page, from "Reviews served by: reviews-vN". */
export const servedBy = (html: string) => /Reviews served by:\s*(?:<[^>]*>\s*)*reviews-(v\d)/.exec(html)?.[1];

/** GET /config_dump from the sidecar's admin port (loopback only), through kubectl exec. */
async function configDump(pod: string): Promise<JsonObject> {
  const script = `fetch("http://127.0.0.1:15000/config_dump").then(async (r) => process.stdout.write(await r.text()))`;
  return JSON.parse(
    await kube(["exec", pod, "-n", BOOKINFO_NS, "-c", SIDECAR, "--", "node", "-e", script]),
  ) as JsonObject;
}

/** The retry attempts of every route to a Bookinfo service in a sidecar's config. */
function bookinfoRetries(dump: JsonObject): number[] {
  const routes = ((dump["resources"] as JsonObject)["routes"] ?? []) as JsonObject[];
  const out: number[] = [];
  for (const rc of routes)
    for (const vh of (rc["virtual_hosts"] ?? []) as JsonObject[])
      for (const r of (vh["routes"] ?? []) as JsonObject[]) {
        const route = r["route"] as JsonObject | undefined;
        if (!String(route?.["cluster"] ?? "").endsWith(`.${BOOKINFO_NS}.svc.cluster.local`)) continue;
        out.push(Number((route?.["retry_policy"] as JsonObject | undefined)?.["num_retries"] ?? 0));
      }
  return out;
}

/** A watcher inside a sidecar: `started` once it polls, `seen` with the time (ms) its routes carry `attempts`. */
function watchRetries(pod: string, attempts: number): { started: Promise<void>; seen: Promise<number> } {
  const script = `
    const isMine = (c) => String(c ?? "").endsWith(".${BOOKINFO_NS}.svc.cluster.local");
    const retries = (d) => d.resources.routes.flatMap((rc) => (rc.virtual_hosts ?? []).flatMap((vh) =>
      (vh.routes ?? []).filter((r) => isMine(r.route?.cluster)).map((r) => r.route.retry_policy?.num_retries ?? 0)));
    let said = false;
    const poll = async () => {
      const n = retries(await (await fetch("http://127.0.0.1:15000/config_dump")).json());
      if (!said) { said = true; process.stdout.write("watching\\n"); }
      if (n.length > 0 && n.every((x) => x === ${attempts})) { process.stdout.write("seen " + Date.now() + "\\n"); process.exit(0); }
      setTimeout(poll, 200);
    };
    setTimeout(() => process.exit(3), 60000);
    poll();`;
  const child = spawn("kubectl", ["exec", pod, "-n", BOOKINFO_NS, "-c", SIDECAR, "--", "node", "-e", script], {
    env: process.env,
  });
  let out = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<never>((_, reject) =>
    child.on("exit", (code) => reject(new Error(`${pod}: watcher exited ${code}: ${out} ${stderr}`))),
  );
  const waitFor = <T>(match: (s: string) => T | undefined) =>
    Promise.race([
      exited,
      new Promise<T>((resolve) => {
        const check = () => {
          const v = match(out);
          if (v !== undefined) {
            child.stdout.off("data", check);
            resolve(v);
          }
        };
        child.stdout.on("data", check);
        check();
      }),
    ]);
  exited.catch(() => undefined);
  return {
    started: waitFor((s) => (s.includes("watching") ? true : undefined)).then(() => undefined),
    seen: waitFor((s) => {
      const m = /seen (\d+)/.exec(s);
      return m ? Number(m[1]) : undefined;
    }),
  };
}

export function bookinfoOnTheRealNode(): void {
  beforeAll(async () => {
    // The README's Bookinfo block, as written: it ends by fetching the product page through the gateway's ClusterIP.
    const out = await runLines(quickStartBlocks()[4] ?? []);
    expect(out).toMatch(/Reviews served by: <b>reviews-v[123]/);
    // Istio's subsets, for the routing test below.
    await kube(["apply", "-n", BOOKINFO_NS, "-f", `${NET}/destination-rule-all.yaml`]);
  }, 600_000);

  it("runs every Bookinfo pod 3/3 Running with its sidecar and engine carrier Ready; kubectl get mesh counts the proxies", async () => {
    const pods = await sidecarPods();
    expect(pods.map((p) => p.metadata.labels?.["app"]).sort()).toEqual([
      "details",
      "productpage",
      "ratings",
      "reviews",
      "reviews",
      "reviews",
    ]);
    for (const p of pods) {
      expect(p.status.phase).toBe("Running");
      // (This asserted the app and the sidecar only: injected pods carry the engine carrier now.)
      expect(p.status.containerStatuses?.map((c) => [c.name, c.ready]).sort()).toEqual([
        [p.metadata.labels?.["app"], true],
        ["weft-engine-carrier", true],
        [SIDECAR, true],
      ]);
    }
    // Six sidecars and the gateway, connected and synced: the printer columns users read.
    const row = await until(
      "kubectl get mesh: 7 proxies, 7 synced",
      async () => {
        const cols = (await kube(["get", "mesh", "default", "--no-headers"])).trim().split(/\s+/);
        return cols[4] === "7" && cols[5] === "7" ? cols : undefined;
      },
      60_000,
    );
    expect(row.slice(0, 6)).toEqual(["default", "weft-system", expect.any(String), "True", "7", "7"]);
  });

  it("starts each proxy's agent through the image's launcher with its V8 flags (PROXY_PROCESS_ENV), its engine without", () => {
    // The containers' processes, as the host sees them: the launcher ran node with WEFT_NODE_FLAGS before the CLI.
    const cmdline = (pid: string) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const agents = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .flatMap((pid) => {
        try {
          const args = cmdline(pid);
          const cli = args.indexOf("/app/dist/operator/cli/main.js");
          // Six injected sidecars, and the sample gateway (`proxy --type router`), whose manifest sets the same.
          return cli > 0 && args[cli + 1] === "proxy"
            ? [{ pid, args: args.slice(1, cli), router: args.includes("router") }]
            : [];
        } catch {
          return []; // gone meanwhile
        }
      });
    expect(agents.map((a) => a.router).sort()).toEqual([false, false, false, false, false, false, true]);
    for (const a of agents) {
      expect(a.args).toEqual(launcherNodeFlags(PROXY_PROCESS_ENV));
      const engines = readFileSync(`/proc/${a.pid}/task/${a.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
      expect(engines.length).toBeGreaterThan(0);
      for (const e of engines) expect(cmdline(e)).not.toContain("--lite-mode");
    }
  });

  it("has kubectl logs and exec working on meshed pods", async () => {
    const productpage = (await sidecarPods()).find((p) => p.metadata.labels?.["app"] === "productpage");
    const name = productpage?.metadata.name ?? "";
    expect(await kube(["logs", name, "-n", BOOKINFO_NS, "-c", "productpage"])).toContain("productpage-v1: listening");
    expect(await kube(["logs", name, "-n", BOOKINFO_NS, "-c", SIDECAR])).toContain("weft proxy (xds)");
    // From inside the app container, through the sidecar's capture, to another service by name.
    const script = `fetch("http://details:9080/details/0").then(async (r) => process.stdout.write(r.status + " " + (await r.text())))`;
    const out = await kube(["exec", name, "-n", BOOKINFO_NS, "-c", "productpage", "--", "node", "-e", script]);
    expect(out).toMatch(/^200 /);
    expect(JSON.parse(out.slice(4))).toMatchObject({ id: 0, author: "William Shakespeare" });
  });

  it("shows every sidecar in weft proxy-status and a sidecar's clusters in proxy-config, through the API server", async () => {
    // proxy-status reaches weftd through the API server's pod proxy; proxy-config reads the sidecar's own
    // /config_dump (loopback only in the pod) through a port-forward, as istioctl does.
    const pods = (await sidecarPods()).map((p) => p.metadata.name);
    const status = await weft(["proxy-status", "-n", "weft-system"]);
    expect(status).toMatchObject({ code: 0, stderr: "" });
    const rows = status.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(/\s{2,}/));
    for (const pod of pods) {
      const row = rows.find((c) => c[0] === `${pod}.${BOOKINFO_NS}`);
      expect(row?.slice(2, 4)).toEqual(["SYNCED", "SYNCED"]); // CDS, LDS
    }
    const productpage = pods.find((p) => p.startsWith("productpage-")) ?? "";
    const clusters = await weft(["proxy-config", `${productpage}.${BOOKINFO_NS}`, "clusters", "-n", "weft-system"]);
    expect(clusters).toMatchObject({ code: 0, stderr: "" });
    expect(clusters.stdout).toMatch(
      new RegExp(`^reviews\\.${BOOKINFO_NS}\\.svc\\.cluster\\.local\\s+9080\\s+v1\\s+outbound\\s+EDS$`, "m"),
    );
  });

  it("weft dashboard, against the cluster: the graph of the real sidecars' calls, through the CLI's forwarder", async () => {
    // The CLI serves 127.0.0.1:<port> and forwards the page's GETs to weftd through the API server; each weftd
    // replica scrapes the sidecars connected to it (at their pod IPs, vouched for by their certificates: the real
    // node's kube-proxy masquerades Service traffic), and the CLI merges the two replicas' graphs.
    const cli = spawn(process.execPath, [`${REPO_ROOT}/dist/operator/cli/main.js`, "dashboard", "-n", "weft-system"], {
      env: { ...process.env, DISPLAY: "" },
    });
    try {
      let out = "";
      cli.stdout.setEncoding("utf8");
      const url = await new Promise<string>((resolve, reject) => {
        cli.stdout.on("data", (c: string) => {
          out += c;
          const m = /^(http:\/\/127\.0\.0\.1:\d+\/dashboard)$/m.exec(out);
          if (m) resolve(m[1]!);
        });
        cli.once("exit", (code) => reject(new Error(`weft dashboard exited ${code}: ${out}`)));
      });
      const page = await httpGet(url);
      expect(page.status).toBe(200);
      expect(page.headers["content-security-policy"]).toBeDefined();
      const { podIP } = await gatewayAddresses();
      // The first scrape shows the edge (the counters exist); a rate needs a second one, a couple of seconds on.
      const edge = await until(
        "productpage → reviews in the graph, with a rate",
        async () => {
          for (let i = 0; i < 5; i++) await httpGet(`http://${podIP}:8080/productpage`);
          const graph = JSON.parse((await httpGet(`${url}/graph`)).body) as {
            edges: { source: string; destination: string; rps: number; successRate?: number }[];
          };
          return graph.edges.find(
            (e) =>
              e.source === `${BOOKINFO_NS}/productpage-v1` &&
              e.destination.startsWith(`${BOOKINFO_NS}/reviews-`) &&
              e.rps > 0,
          );
        },
        90_000,
      );
      expect(edge.successRate).toBe(1);
      // Both weftd replicas answered, and the graph is theirs merged.
      const graph = JSON.parse((await httpGet(`${url}/graph`)).body) as { replica: string };
      expect(graph.replica.split(", ")).toHaveLength(2);
      expect(graph.replica).not.toContain("no answer");
    } finally {
      cli.kill("SIGTERM");
    }
  });

  it("serves the product page with reviews through the ingress gateway, at its pod IP and its ClusterIP", async () => {
    const { podIP, clusterIP } = await gatewayAddresses();
    for (const url of [`http://${podIP}:8080/productpage`, `http://${clusterIP}/productpage`]) {
      const r = await httpGet(url);
      expect(r.status).toBe(200);
      expect(r.body).toContain("The Comedy of Errors");
      expect(r.body).toContain("Reviewer1");
      expect(servedBy(r.body)).toMatch(/^v[123]$/);
    }
    expect((await httpGet(`http://${podIP}:8080/nothing-routes-here`)).status).toBe(404);
  });

  it("routes jason to reviews v2 and everyone else to v1 (Istio's virtual-service-reviews-test-v2.yaml)", async () => {
    await kube(["apply", "-n", BOOKINFO_NS, "-f", `${NET}/virtual-service-reviews-test-v2.yaml`]);
    const { podIP } = await gatewayAddresses();
    const page = (user?: string) =>
      httpGet(`http://${podIP}:8080/productpage`, user ? { cookie: `user=${user}` } : {}).then((r) => {
        if (r.status !== 200) throw new Error(`productpage answered ${r.status}`);
        return servedBy(r.body);
      });
    // The route reaches productpage's sidecar asynchronously: wait for jason's first v2, then count.
    await until("jason routed to v2", async () => ((await page("jason")) === "v2" ? true : undefined), 30_000);
    const seen: Record<string, Record<string, number>> = { jason: {}, anonymous: {}, alice: {} };
    for (let i = 0; i < 50; i++) {
      for (const user of ["jason", "anonymous", "alice"] as const) {
        const v = String(await page(user === "anonymous" ? undefined : user));
        const counts = seen[user] ?? {};
        counts[v] = (counts[v] ?? 0) + 1;
        seen[user] = counts;
      }
    }
    expect(seen).toEqual({ jason: { v2: 50 }, anonymous: { v1: 50 }, alice: { v1: 50 } });
  });

  it("takes meshConfig.defaultRetryPolicy.attempts to every sidecar's routes, with no restart", async () => {
    const restarts = async () =>
      (await sidecarPods()).map((p) => [p.metadata.name, p.status.containerStatuses?.map((c) => c.restartCount)]);
    const restartsBefore = await restarts();
    const pods = (await sidecarPods()).map((p) => p.metadata.name);
    const attempts = Math.max(...bookinfoRetries(await configDump(pods[0] ?? ""))) + 3;
    // One watcher per sidecar, inside the pod (its clock is the host's): it polls /config_dump on loopback and
    // prints the time it first sees every Bookinfo route with the new attempts, so kubectl's own latency isn't counted.
    const watchers = pods.map((pod) => watchRetries(pod, attempts));
    await Promise.all(watchers.map((w) => w.started));
    const patched = Date.now();
    await patchMesh({ meshConfig: { defaultRetryPolicy: { attempts } } });
    const seenAt = await Promise.all(watchers.map((w) => w.seen));
    const delays = seenAt.map((t) => t - patched);
    // About 3 s on this machine (operator → weft-mesh → discovery → ADS → agent → engine), counted from before
    // kubectl starts. The issue's bound is 5 s; on a machine whose load is over its CPU count (other suites or
    // builds beside this one), 30 s, and the test says so, since then it measures the machine, not Weft.
    const load = loadavg()[0] ?? 0;
    const busy = load > availableParallelism();
    const bound = busy ? 30_000 : 5_000;
    process.stderr.write(
      `meshConfig retry attempts reached ${pods.length} sidecars in ${delays.join(", ")} ms (bound ${bound} ms${busy ? `: load ${load.toFixed(1)}` : ""})\n`,
    );
    expect(delays.filter((d) => d > bound)).toEqual([]);
    expect(await restarts()).toEqual(restartsBefore);
  });

  it("logs requests in the sidecars once meshConfig.accessLog is turned on", async () => {
    await patchMesh({ meshConfig: { accessLog: { enabled: true } } });
    const { podIP } = await gatewayAddresses();
    const productpage = (await sidecarPods()).find((p) => p.metadata.labels?.["app"] === "productpage");
    const name = productpage?.metadata.name ?? "";
    const marker = `/productpage?access-log-probe=${Date.now()}`;
    // Each request is a chance: the access log is on once the pushed listener config is in place.
    const line = await until(
      "an access log line for the probe request in productpage's sidecar",
      async () => {
        await httpGet(`http://${podIP}:8080${marker}`);
        const logs = await kube(["logs", name, "-n", BOOKINFO_NS, "-c", SIDECAR, "--since=2m"]);
        return logs.split("\n").find((l) => l.includes(marker));
      },
      30_000,
    );
    expect(line).toContain("GET");
    expect(line).toContain("200");
  });

  it("names the pod and the image in the mesh's status when a sidecar can't start its image", async () => {
    const missing = "ghcr.io/weft-mesh/weft:0.0.0-missing";
    await kube(
      ["apply", "-n", BOOKINFO_NS, "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata:
  name: no-proxy-image
  annotations: { sidecar.istio.io/proxyImage: "${missing}" }
spec:
  terminationGracePeriodSeconds: 1
  containers: [{ name: app, image: ${weftImage()}, imagePullPolicy: Never, args: [version] }]
`,
    );
    const synced = (field: string) => `jsonpath={.status.conditions[?(@.type=="ProxiesSynced")].${field}}`;
    await kube(["wait", `--for=${synced("reason")}=ImagePullFailed`, "mesh/default", "--timeout=120s"]);
    const message = await kube(["get", "mesh", "default", "-o", synced("message")]);
    expect(message).toContain(`pod ${BOOKINFO_NS}/no-proxy-image container`);
    expect(message).toContain(`for image "${missing}"`);
    expect(await kube(["get", "mesh", "default", "-o", "jsonpath={.status.state}"])).toBe("ImagePullFailed");
    // The node's containerd pulls from loopback only (hack/cluster/node/config.ts): the attempt never left the box.
    await until(
      "the kubelet's pull error, naming the loopback registry",
      async () => {
        const events = await kube([
          "get",
          "events",
          "-n",
          BOOKINFO_NS,
          "--field-selector",
          "involvedObject.name=no-proxy-image,reason=Failed",
          "-o",
          "jsonpath={.items[*].message}",
        ]);
        return events.includes("127.0.0.1:9") ? true : undefined;
      },
      60_000,
    );
    await kube(["delete", "pod", "no-proxy-image", "-n", BOOKINFO_NS, "--wait=false"]);
    await kube(["wait", `--for=${synced("reason")}=Synced`, "mesh/default", "--timeout=120s"]);
  });
}
