// Real pods on the process cluster's real node, weft-node-0 (containerd, runc, the CNI bridge, kubelet,
// kube-proxy, CoreDNS), from the images `npm run image` built and `cluster up` imported: nothing is pulled.
// The last test takes the cluster down and looks for anything left behind.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { relative } from "node:path";
import { createServer } from "node:net";
import { NODE, PORTS, REPO_ROOT, STATE_DIR } from "../../hack/cluster/layout.js";
import { images } from "../../hack/image/main.js";
import { getJson, kube, kubectl } from "../integration/support/kubectl.js";
import { bookinfoOnTheRealNode } from "./bookinfo.js";
import { httpGet, until } from "./http.js";
import { proxyUpgradeOnTheRealNode } from "./upgrade.js";
import { strictOnTheRealNode } from "./strict.js";
import { quickStartBlocks, runLines } from "./readme.js";

const NS = "real-pods";
const FAKE_NS = "fake-pods";
const { bookinfo, weft } = images();

const namespaces = `apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
  annotations: { scheduler.alpha.kubernetes.io/node-selector: type=real }
---
apiVersion: v1
kind: Namespace
metadata: { name: ${FAKE_NS} }
`;

const ratings = (ns: string) => `apiVersion: v1
kind: Pod
metadata: { name: ratings, namespace: ${ns}, labels: { app: ratings } }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: ratings
      image: ${bookinfo.ref}
      imagePullPolicy: Never
      args: [ratings, v1, "0.0.0.0:9080", "127.0.0.1:9"]
      ports: [{ containerPort: 9080, name: http }]
      readinessProbe: { httpGet: { path: /ratings/0, port: 9080 }, periodSeconds: 2 }
---
apiVersion: v1
kind: Service
metadata: { name: ratings, namespace: ${ns} }
spec:
  selector: { app: ratings }
  ports: [{ name: http, port: 9080, targetPort: 9080 }]
`;

function cluster(cmd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [`${REPO_ROOT}/dist/hack/cluster/main.js`, cmd], (err, _out, stderr) =>
      resolve({ code: err ? 1 : 0, stderr }),
    ),
  );
}

/** Live processes whose command line mentions the cluster's folder. */
function processesIn(folder: string): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(folder);
      } catch {
        return false;
      }
    });
}

describe("the real node", () => {
  beforeAll(async () => {
    await kube(["apply", "-f", "-"], namespaces);
  });

  it("runs a pod that serves HTTP on its pod IP; kubectl logs and exec work", async () => {
    await kube(["apply", "-f", "-"], ratings(NS));
    await kube(["wait", "--for=condition=Ready", "pod/ratings", "-n", NS, "--timeout=180s"]);
    const pod = await getJson<{ spec: { nodeName: string }; status: { podIP: string } }>([
      "get",
      "pod",
      "ratings",
      "-n",
      NS,
    ]);
    expect(pod.spec.nodeName).toBe(NODE.name);
    expect(pod.status.podIP).toMatch(/^10\.244\.100\.\d+$/);

    const r = await httpGet(`http://${pod.status.podIP}:9080/ratings/7`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ id: 7, version: "ratings-v1" });

    expect(await kube(["logs", "ratings", "-n", NS])).toContain("bookinfo ratings-v1: listening on 0.0.0.0:9080");
    expect(
      await kube([
        "exec",
        "ratings",
        "-n",
        NS,
        "--",
        "/usr/local/bin/node",
        "-e",
        "process.stdout.write(String(6 * 7))",
      ]),
    ).toBe("42");
  });

  it("gives pods the cluster's DNS and Services: a pod reaches a Service by name through its ClusterIP", async () => {
    const script = `fetch("http://ratings.${NS}.svc.cluster.local:9080/ratings/3").then(async (r) => process.stdout.write(r.status + " " + (await r.text())))`;
    // The Service works once its EndpointSlice lists the pod ready and kube-proxy has written the rules for that;
    // the first is an event to wait for, the second shows only in the traffic (CI once saw EHOSTUNREACH in between).
    await kube([
      "wait",
      "--for=jsonpath={.endpoints[0].conditions.ready}=true",
      "endpointslice",
      "-l",
      "kubernetes.io/service-name=ratings",
      "-n",
      NS,
      "--timeout=60s",
    ]);
    const out = await until(
      "ratings by name through its ClusterIP",
      () => kube(["exec", "ratings", "-n", NS, "--", "/usr/local/bin/node", "-e", script]),
      30_000,
    );
    expect(out).toMatch(/^200 /);
    expect(JSON.parse(out.slice(4))).toMatchObject({ id: 3, version: "ratings-v1" });
  });

  it("keeps pods of namespaces that don't ask for it on the KWOK nodes", async () => {
    await kube(["apply", "-f", "-"], ratings(FAKE_NS));
    await kube(["wait", "--for=condition=Ready", "pod/ratings", "-n", FAKE_NS, "--timeout=60s"]);
    const pod = await getJson<{ spec: { nodeName: string } }>(["get", "pod", "ratings", "-n", FAKE_NS]);
    expect(pod.spec.nodeName).toMatch(/^kwok-node-/);
  });

  it("shows ErrImageNeverPull for an image that npm run image didn't build", async () => {
    const missing = `${weft.ref}-missing`;
    await kube(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata: { name: missing, namespace: ${NS} }
spec:
  containers: [{ name: weft, image: "${missing}", imagePullPolicy: Never, args: [version] }]
`,
    );
    await kube([
      "wait",
      "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ErrImageNeverPull",
      "pod/missing",
      "-n",
      NS,
      "--timeout=120s",
    ]);
    const events = await kube([
      "get",
      "events",
      "-n",
      NS,
      "--field-selector",
      "involvedObject.name=missing",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
    expect(events).toContain(missing);
  });

  it("installs as the README's Quick start says: the operator and weftd run as containers and the mesh turns Ready", async () => {
    const [build, kind, processCluster, install] = quickStartBlocks();
    // npm run image and `cluster up` are what this run's setup already did.
    expect(build).toEqual(["npm ci && npm run image"]);
    expect(processCluster?.[0]).toBe("npm run cluster -- up && export KUBECONFIG=$PWD/.weft/cluster/kubeconfig");
    // The kind commands name the archives npm run image wrote.
    expect(kind).toEqual([weft, bookinfo].map((i) => `kind load image-archive ${relative(REPO_ROOT, i.archive)}`));
    for (const i of [weft, bookinfo]) expect(existsSync(i.archive)).toBe(true);
    const out = await runLines([...(processCluster ?? []).slice(1), ...(install ?? [])]);
    expect(out).toMatch(/^default\s+weft-system\s+\S+\s+True\s/m);
    const pods = await getJson<{
      items: Array<{
        metadata: { name: string };
        spec: { nodeName: string; containers: Array<{ image: string }> };
        status: { phase: string };
      }>;
    }>(["get", "pods", "-n", "weft-system"]);
    const names = pods.items.map((p) => p.metadata.name);
    expect(names.filter((n) => n.startsWith("weft-operator-"))).toHaveLength(2);
    expect(names.filter((n) => n.startsWith("weftd-"))).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.spec.nodeName).toBe(NODE.name);
      expect(p.spec.containers[0]?.image).toBe(weft.ref);
      expect(p.status.phase).toBe("Running");
    }
  });

  // Bookinfo shares this cluster and this mesh: installing them takes minutes on this machine.
  describe("Bookinfo, meshed", bookinfoOnTheRealNode);
  // On the same Bookinfo: spec.proxy.tag to another version, every sidecar hot-restarted in place under load.
  describe("Bookinfo's sidecars, upgraded in place", proxyUpgradeOnTheRealNode);

  // On the same Bookinfo: STRICT mesh-wide. The gateway has its own identity (samples/bookinfo/kube/ingressgateway.yaml).
  describe("Bookinfo with STRICT mutual TLS mesh-wide", strictOnTheRealNode);

  it("goes down leaving no process, mount, network namespace, bridge, route or iptables rule behind", async () => {
    expect((await cluster("down")).code).toBe(0);
    expect(processesIn(STATE_DIR)).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(STATE_DIR);
    expect(existsSync(`/sys/class/net/${NODE.bridge}`)).toBe(false);
    // Every pod's veth went with its network namespace: no interface is left in the node's range.
    expect(execFileSync("ip", ["-4", "-o", "addr"], { encoding: "utf8" })).not.toContain("10.244.100.");
    expect(execFileSync("ip", ["route"], { encoding: "utf8" })).not.toMatch(/10\.96\.0\.0|10\.244\./);
    const rules = execFileSync("iptables-save", { encoding: "utf8" });
    expect(rules).not.toMatch(/WEFT-NODE|KUBE-/);
    expect((await kubectl(["get", "nodes"])).code).not.toBe(0);
  });

  it("fails `up` naming the node component that won't start and its log, and leaves nothing running", async () => {
    // kube-proxy can't bind its health port: it exits at once.
    const blocker = createServer();
    await new Promise<void>((resolve, reject) =>
      blocker.once("error", reject).listen(PORTS.kubeProxyHealthz, "127.0.0.1", resolve),
    );
    try {
      const up = await cluster("up");
      expect(up.code).not.toBe(0);
      // Said with how it ended, started once more (a daemon can die of something passing), then given up on.
      expect(up.stderr).toContain(`kube-proxy exited (code 1); see ${STATE_DIR}/logs/kube-proxy.log`);
      expect(up.stderr).toContain("starting kube-proxy once more");
      expect(readFileSync(`${STATE_DIR}/logs/kube-proxy.log`, "utf8")).toContain("address already in use");
    } finally {
      blocker.close();
    }
    expect(processesIn(STATE_DIR)).toEqual([]);
    expect(existsSync(`/sys/class/net/${NODE.bridge}`)).toBe(false);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(STATE_DIR);
  });
});
