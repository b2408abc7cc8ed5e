// Bookinfo on the process cluster: Services, EndpointSlices and Pods from KWOK-run Deployments, plus Istio's
// networking YAML as published, read by discovery's Kubernetes source. A connected proxy (an Envoy-like ADS
// client that records every resource) gets Istio's clusters, endpoints and routes, and /debug/syncz shows it
// synced; changes in the cluster reach it. Last, a real `weft proxy` agent shows the same in its /config_dump.
import { TYPE } from "../../proxy/xds/types.js";
import { applyBookinfo, applyNetworking, BOOKINFO, sidecarId } from "./support/bookinfo.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { getJson, kube, kubectl } from "./support/kubectl.js";
import { CheckingProxy } from "./support/proxy-client.js";
import { spawn } from "node:child_process";
import { REPO_ROOT } from "../../hack/cluster/layout.js";
import { freePort } from "./support/operator.js";

const NS = "bookinfo-kube";
const MESH_NS = "weft-bookinfo";
const fqdn = (app: string) => `${app}.${NS}.svc.cluster.local`;
const cluster = (app: string, subset = "") => `outbound|9080|${subset}|${fqdn(app)}`;

interface VirtualHost {
  domains: string[];
  routes: {
    match?: Record<string, unknown>;
    route?: { cluster?: string; weighted_clusters?: { clusters: { name: string; weight: number }[] } };
  }[];
}

async function podAddresses(app: string, version: string): Promise<string[]> {
  const pods = await getJson<{ items: { status: { podIP?: string } }[] }>([
    "get",
    "pods",
    "-n",
    NS,
    "-l",
    `app=${app},version=${version}`,
  ]);
  return pods.items.map((p) => `${p.status.podIP ?? ""}:9080`).sort();
}

describe("Bookinfo from the cluster, through discovery's Kubernetes source", () => {
  let discovery: DiscoveryProcess | undefined;
  let proxy: CheckingProxy | undefined;
  const vhost = (app: string): VirtualHost | undefined => {
    const rc = proxy?.routes().get("9080") as { virtual_hosts?: VirtualHost[] } | undefined;
    return rc?.virtual_hosts?.find((v) => v.domains.includes(fqdn(app)));
  };

  beforeAll(async () => {
    await kube(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${MESH_NS} }\n`);
    await applyBookinfo(NS);
    await applyNetworking(NS, "destination-rule-all.yaml", "virtual-service-all-v1.yaml");
    discovery = await DiscoveryProcess.start(MESH_NS, "bookinfo", ["--webhook-port=-1"]);
    proxy = new CheckingProxy(discovery.xdsTarget, sidecarId("productpage", NS));
  }, 120_000);

  afterAll(async () => {
    proxy?.close();
    await discovery?.stop();
    await kubectl(["delete", "namespace", NS, MESH_NS, "--wait=false"]);
  });

  it("gives the proxy Istio's clusters, one per subset, with the pods' addresses as endpoints", async () => {
    const expected = BOOKINFO.flatMap(([app, versions]) => [cluster(app), ...versions.map((v) => cluster(app, v))]);
    await proxy!.until(() => expected.every((c) => proxy!.clusters().includes(c)), 20_000, "every Bookinfo cluster");
    await proxy!.until(() => proxy!.endpoints(cluster("reviews", "v3")).length === 1, 10_000, "reviews v3's endpoint");
    expect(proxy!.endpoints(cluster("reviews", "v2"))).toEqual(await podAddresses("reviews", "v2"));
    expect(proxy!.endpoints(cluster("reviews")).length).toBe(3);
    expect(proxy!.nacks).toEqual([]);
  });

  it("routes every app to v1, as virtual-service-all-v1.yaml says, with Istio's domains", async () => {
    await proxy!.until(() => BOOKINFO.every(([app]) => vhost(app) !== undefined), 10_000, "a virtual host per app");
    for (const [app] of BOOKINFO) expect(vhost(app)?.routes[0]?.route?.cluster).toBe(cluster(app, "v1"));
    expect(vhost("reviews")?.domains).toEqual(
      expect.arrayContaining(["reviews", `reviews.${NS}`, fqdn("reviews"), "reviews:9080"]),
    );
  });

  it("shows the proxy in /debug/syncz, every type ACKed at the current version", async () => {
    const allAcked = (s: Awaited<ReturnType<DiscoveryProcess["syncz"]>>) =>
      s.length === 1 &&
      ["CDS", "EDS", "LDS", "RDS"].every(
        (t) => s[0]?.types[t]?.acked !== undefined && s[0].types[t].acked === s[0].types[t].sent,
      );
    let syncz = await discovery!.syncz();
    for (let i = 0; i < 50 && !allAcked(syncz); i++) syncz = await discovery!.syncz(); // the last ACK may be in flight
    const [p, ...others] = syncz;
    expect(others).toEqual([]);
    expect(p?.node).toBe(sidecarId("productpage", NS));
    for (const type of ["CDS", "EDS", "LDS", "RDS"]) {
      expect(p?.types[type]).toMatchObject({ acked: p?.types[type]?.sent });
      expect(p?.types[type]?.nack).toBeUndefined();
    }
  });

  it("follows the cluster: a 50/50 VirtualService and a scaled Deployment reach the proxy", async () => {
    await applyNetworking(NS, "virtual-service-reviews-50-v3.yaml");
    await proxy!.until(
      () => vhost("reviews")?.routes[0]?.route?.weighted_clusters !== undefined,
      10_000,
      "the weighted route",
    );
    expect(vhost("reviews")?.routes[0]?.route?.weighted_clusters?.clusters).toEqual([
      expect.objectContaining({ name: cluster("reviews", "v1"), weight: 50 }),
      expect.objectContaining({ name: cluster("reviews", "v3"), weight: 50 }),
    ]);

    await kube(["scale", "deployment", "reviews-v3", "-n", NS, "--replicas=2"]);
    await proxy!.until(
      () => proxy!.endpoints(cluster("reviews", "v3")).length === 2,
      30_000,
      "two reviews v3 endpoints",
    );
    expect(proxy!.endpoints(cluster("reviews", "v3"))).toEqual(await podAddresses("reviews", "v3"));
    expect(proxy!.active.get(TYPE.endpoint)?.has(cluster("reviews", "v3"))).toBe(true);
  });

  it("is what a real weft proxy agent, connected over ADS, serves: its /config_dump has the clusters and routes", async () => {
    // The agent binds its listeners on its own IP from the node id: a loopback one, since pod IPs here are only data.
    const ip = "127.0.60.11";
    const [admin, stats, ready] = [await freePort(), await freePort(), await freePort()];
    const nodeId = `sidecar~${ip}~productpage-v1-agent.${NS}~${NS}.svc.cluster.local`;
    const agent = spawn(
      process.execPath,
      [
        `${REPO_ROOT}/dist/operator/cli/main.js`,
        "proxy",
        "--discovery-address",
        discovery!.xdsTarget,
        "--node-id",
        nodeId,
        "--admin-address",
        ip,
        "--admin-port",
        `${admin}`,
        "--stats-port",
        `${stats}`,
        "--ready-port",
        `${ready}`,
      ],
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WEFT_LOG_LEVEL: "warn" } },
    );
    try {
      type Dump = {
        version?: string;
        xds?: { protocol?: string };
        resources?: { clusters?: { name: string }[]; routes?: { virtual_hosts?: VirtualHost[] }[] };
      };
      const dump = async (): Promise<Dump | undefined> => {
        try {
          return (await (await fetch(`http://${ip}:${admin}/config_dump`)).json()) as Dump;
        } catch {
          return undefined; // not listening yet
        }
      };
      // The agent ACKs only once its engine serves the config, so an ACK of every type at the version
      // discovery sent means /config_dump now shows what the proxy serves.
      const acked = (x: Awaited<ReturnType<DiscoveryProcess["syncz"]>>) => {
        const p = x.find((q) => q.node === nodeId);
        return (
          p !== undefined &&
          ["CDS", "EDS", "LDS", "RDS"].every(
            (t) => p.types[t]?.acked !== undefined && p.types[t]?.acked === p.types[t]?.sent,
          )
        );
      };
      let syncz = await discovery!.syncz();
      for (let i = 0; i < 300 && !acked(syncz); i++) {
        await new Promise((r) => setTimeout(r, 50)); // syncz is a snapshot endpoint: no watch to await
        syncz = await discovery!.syncz();
      }
      expect(acked(syncz)).toBe(true);
      const d = await dump();
      expect(d?.xds?.protocol).toBe("delta"); // an agent speaks incremental xDS to discovery, as Istio's do
      const names = (d?.resources?.clusters ?? []).map((c) => c.name);
      const expected = BOOKINFO.flatMap(([app, versions]) => [cluster(app), ...versions.map((v) => cluster(app, v))]);
      expect(names).toEqual(expect.arrayContaining(expected));
      const hosts = (d?.resources?.routes ?? []).flatMap((r) => r.virtual_hosts ?? []);
      const reviews = hosts.find((v) => v.domains.includes(fqdn("reviews")));
      expect(reviews?.routes[0]?.route?.weighted_clusters?.clusters.map((c) => c.name)).toEqual([
        cluster("reviews", "v1"),
        cluster("reviews", "v3"),
      ]);
    } finally {
      agent.kill("SIGTERM");
      await new Promise((r) => agent.once("exit", r));
    }
  });
});
