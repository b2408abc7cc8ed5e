// The ADS protocol as a proxy sees it: warming order, versions and nonces, ACK, NACK, stale nonces, and pushes
// only when a proxy's resources change.
import { Server } from "@grpc/grpc-js";
import { adsService } from "../../../proxy/xds/ads.js";
import { decodeResource } from "../../../proxy/xds/codec.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { RawAdsClient } from "../../../test/support/discovery/adsclient.js";
import { ECHO_SUBSETS, ECHO_V3, ECHO_V4, echoWeights, meshModel } from "../../../test/support/discovery/mesh.js";
import { bindGrpc } from "../server.js";
import { SnapshotGenerator } from "./generator.js";
import { XdsMetrics } from "./metrics.js";
import { AdsServer } from "./server.js";
import { summarise } from "./summary.js";
import { SyncTracker } from "./tracker.js";

const NODE = "sidecar~127.0.0.9~client-0.default~default.svc.cluster.local";
const VS = echoWeights;
const V3 = ECHO_V3;
const V4 = ECHO_V4;
describe("ADS server", () => {
  let grpc: Server;
  let ads: AdsServer;
  let target: string;
  const clients: RawAdsClient[] = [];

  async function start(maxBufferedBytes?: number): Promise<void> {
    const generator = new SnapshotGenerator();
    generator.setModel(meshModel(ECHO_SUBSETS, VS(50)));
    ads = new AdsServer({ generator, tracker: new SyncTracker(), metrics: new XdsMetrics(), maxBufferedBytes });
    grpc = new Server();
    grpc.addService(adsService, ads.handlers());
    const port = await bindGrpc(grpc, "127.0.0.1", 0);
    target = `127.0.0.1:${port}`;
  }

  async function stop(): Promise<void> {
    for (const c of clients.splice(0)) c.close();
    ads.closeAll();
    await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
  }

  beforeEach(() => start());
  afterEach(() => stop());

  function client(): RawAdsClient {
    const c = new RawAdsClient(target, NODE);
    clients.push(c);
    return c;
  }

  /** Subscribes like Envoy: CDS and LDS wildcard, then EDS and RDS by the names they reference. */
  async function subscribeAll(
    c: RawAdsClient,
  ): Promise<{ eds: string[]; rds: string[]; assignments: Map<string, string> }> {
    c.request(TYPE.cluster);
    const cds = await c.next();
    expect(cds.type_url).toBe(TYPE.cluster);
    const eds = cds.resources
      .map((r) => decodeResource(r))
      .filter((x) => x["type"] === "EDS")
      .map((x) => String(x["name"]));
    c.ack(cds);
    c.request(TYPE.endpoint, eds);
    const cla = await c.next();
    expect(cla.type_url).toBe(TYPE.endpoint);
    expect(cla.resources).toHaveLength(eds.length);
    const assignments = new Map(
      cla.resources.map((x) => {
        const json = decodeResource(x);
        return [String(json["cluster_name"]), JSON.stringify(json)] as const;
      }),
    );
    c.ack(cla, eds);
    c.request(TYPE.listener);
    const lds = await c.next();
    c.ack(lds);
    const rds = ["7070", "80"];
    c.request(TYPE.route, rds);
    const rdsResp = await c.next();
    expect(rdsResp.resources.map((r) => decodeResource(r)["name"])).toEqual(rds);
    c.ack(rdsResp, rds);
    await eventually(() => ads.tracker.state()[0]?.types["RDS"]?.acked !== undefined);
    return { eds, rds, assignments };
  }

  async function eventually(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(condition()).toBe(true);
  }

  let probes = 0;
  /**
   * A round trip on the stream: asks for one more route name and waits for that answer. The stream is ordered,
   * so the answer proves the server handled every earlier request, and shows whether it pushed anything before.
   */
  async function roundTrip(c: RawAdsClient, rds: string[]): Promise<void> {
    c.request(TYPE.route, [...rds, `probe-${++probes}`]);
    const r = await c.next();
    expect(r.type_url).toBe(TYPE.route);
    expect(r.resources.map((x) => decodeResource(x)["name"])).toEqual(rds);
  }

  it("answers each subscription with a version and a nonce, and records the ACKs", async () => {
    const c = client();
    await subscribeAll(c);
    const [state] = ads.tracker.state();
    expect(state?.node).toBe(NODE);
    expect(state?.types).toEqual({
      CDS: { sent: "1", acked: "1" },
      EDS: { sent: "1", acked: "1" },
      LDS: { sent: "1", acked: "1" },
      RDS: { sent: "1", acked: "1" },
    });
    expect(summarise(ads.tracker.state())).toMatchObject({
      connected: 1,
      synced: 1,
      nacked: 0,
      configVersions: { "1": 1 },
    });
  });

  it("pushes a change in warming order, only the types that changed", async () => {
    const c = client();
    const { eds, rds } = await subscribeAll(c);
    // New weights only touch routes.
    ads.generator.setModel(meshModel(ECHO_SUBSETS, VS(100)));
    await ads.pushAll();
    const rdsPush = await c.next();
    expect(rdsPush).toMatchObject({ type_url: TYPE.route, version_info: "2" });
    c.ack(rdsPush, rds);
    // A new endpoint changes clusters? No: only the assignments.
    const more = ECHO_SUBSETS + V3;
    ads.generator.setModel(meshModel(more, VS(100)));
    await ads.pushAll();
    const edsPush = await c.next();
    expect(edsPush).toMatchObject({ type_url: TYPE.endpoint, version_info: "3" });
    c.ack(edsPush, eds);
    // A new service touches everything, in order CDS, EDS, LDS, RDS.
    ads.generator.setModel(
      meshModel(
        more,
        VS(100),
        `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: extra }
spec: { hosts: [extra.local], ports: [{ number: 9090, name: http }], endpoints: [{ address: 127.0.0.5 }] }`,
      ),
    );
    await ads.pushAll();
    // The subscribed assignments and routes didn't change; the new ones are asked for after warming.
    const order = [await c.next(), await c.next()];
    expect(order.map((r) => r.type_url)).toEqual([TYPE.cluster, TYPE.listener]);
    c.request(TYPE.endpoint, [...eds, "outbound|9090||extra.local"]);
    expect((await c.next()).resources).toHaveLength(eds.length + 1);
    c.request(TYPE.route, [...rds, "9090"]);
    expect((await c.next()).resources).toHaveLength(rds.length + 1);
  });

  it("sends only the assignments an endpoints-only change touched; a proxy that keeps the rest holds what a new one gets", async () => {
    const c = client();
    const { eds, assignments: held } = await subscribeAll(c);
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(50)));
    await ads.pushAll();
    const push = await c.next();
    expect(push).toMatchObject({ type_url: TYPE.endpoint, version_info: "2" });
    const names = push.resources.map((x) => String(decodeResource(x)["cluster_name"])).sort();
    // echo-v3 is a v1 endpoint: the service's and subset v1's assignments change, subset v2's doesn't.
    expect(names).toEqual(["outbound|7070|v1|echo", "outbound|7070||echo"]);
    for (const x of push.resources) {
      const cla = decodeResource(x);
      held.set(String(cla["cluster_name"]), JSON.stringify(cla));
    }
    c.ack(push, eds);
    const fresh = client();
    expect(held).toEqual((await subscribeAll(fresh)).assignments);
  });

  it("sends again, with the next change, the assignments of a response the proxy NACKed", async () => {
    const c = client();
    const { eds } = await subscribeAll(c);
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(50)));
    await ads.pushAll();
    const rejected = await c.next();
    c.nack(rejected, "1", "not today", eds);
    // One more v2 endpoint: this push carries subset v2's change, and the v1 changes the proxy turned down.
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3 + V4, VS(50)));
    await ads.pushAll();
    const next = await c.next();
    expect(next).toMatchObject({ type_url: TYPE.endpoint, version_info: "3" });
    expect(next.resources.map((x) => String(decodeResource(x)["cluster_name"])).sort()).toEqual([
      "outbound|7070|v1|echo",
      "outbound|7070|v2|echo",
      "outbound|7070||echo",
    ]);
  });

  it("after a response the proxy has not yet answered, carries what changed since either it or the last ACKed one", async () => {
    const c = client();
    const { eds, assignments: held } = await subscribeAll(c);
    // echo-v3 comes, then goes again before the proxy has ACKed the response that added it.
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(50)));
    await ads.pushAll();
    const added = await c.next();
    ads.generator.setModel(meshModel(ECHO_SUBSETS, VS(50)));
    await ads.pushAll();
    const removed = await c.next();
    // The proxy applies both in order, as Envoy does, and must end where a new proxy starts: without echo-v3. The
    // second response is empty if it only counts from the last ACKed one (which had no echo-v3 either).
    for (const r of [added, removed]) {
      for (const x of r.resources) {
        const cla = decodeResource(x);
        held.set(String(cla["cluster_name"]), JSON.stringify(cla));
      }
      c.ack(r, eds);
    }
    expect(removed).toMatchObject({ type_url: TYPE.endpoint, version_info: "3" });
    const fresh = client();
    expect(held).toEqual((await subscribeAll(fresh)).assignments);
  });

  it("sends nothing to a proxy whose resources did not change, and moves it to the new version", async () => {
    const c = client();
    const { rds } = await subscribeAll(c);
    ads.generator.setModel(meshModel(ECHO_SUBSETS, VS(50)));
    await ads.pushAll();
    await roundTrip(c, rds);
    expect(summarise(ads.tracker.state()).configVersions).toEqual({ "2": 1 });
  });

  it("records a NACK with its error, keeps the last ACKed version, and ignores stale nonces", async () => {
    const c = client();
    const { rds } = await subscribeAll(c);
    ads.generator.setModel(meshModel(ECHO_SUBSETS, VS(80)));
    await ads.pushAll();
    const push = await c.next();
    c.nack(push, "1", "weighted_clusters: invalid", rds);
    // A stale nonce (from the first response) changes nothing.
    c.request(TYPE.route, ["7070"], { version: "1", nonce: "1" });
    await roundTrip(c, rds);
    const [state] = ads.tracker.state();
    expect(state?.types["RDS"]).toMatchObject({
      sent: "2",
      acked: "1",
      nack: { version: "1", error: "weighted_clusters: invalid" },
    });
    expect(summarise(ads.tracker.state())).toMatchObject({
      synced: 0,
      nacked: 1,
      nacks: [{ node: NODE, type: "RDS", error: "weighted_clusters: invalid" }],
    });
    expect(await ads.metrics.registry.getSingleMetricAsString("weft_xds_nacks_total")).toContain(
      'weft_xds_nacks_total{type="RDS"} 1',
    );
  });

  it("answers a new set of names at once, and forgets a proxy that disconnects", async () => {
    const c = client();
    const { rds } = await subscribeAll(c);
    c.request(TYPE.route, [...rds, "unknown"]);
    const again = await c.next();
    expect(again.resources).toHaveLength(2);
    c.close();
    await eventually(() => ads.tracker.size === 0);
  });

  it("holds pushes while too many bytes wait to be flushed, and sends them as bytes drain", async () => {
    await stop();
    await start(1); // every push waits for the previous one to leave
    const a = client();
    const b = client();
    const [subA, subB] = await Promise.all([subscribeAll(a), subscribeAll(b)]);
    expect(subA.eds).toEqual(subB.eds);
    await eventually(
      () => ads.tracker.state().length === 2 && ads.tracker.state().every((p) => p.types["RDS"]?.acked === "1"),
    );
  });
});
