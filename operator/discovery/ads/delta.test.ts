// Incremental ADS as a proxy sees it: only what changed, the names that went away, ACKs by nonce, a reconnection
// that says what it holds, a NACKed response sent again with the next change, and what isn't implemented refused.
import { Server, credentials, makeGenericClientConstructor, type ClientDuplexStream } from "@grpc/grpc-js";
import { adsService } from "../../../proxy/xds/ads.js";
import { decodeResource } from "../../../proxy/xds/codec.js";
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "../../../proxy/xds/delta.js";
import { TYPE, resourceName } from "../../../proxy/xds/types.js";
import { ECHO_SUBSETS, ECHO_V3, ECHO_V4, echoWeights, meshModel } from "../../../test/support/discovery/mesh.js";
import { bindGrpc } from "../server.js";
import { SnapshotGenerator } from "./generator.js";
import { XdsMetrics } from "./metrics.js";
import { AdsServer } from "./server.js";
import { SyncTracker } from "./tracker.js";

const NODE = { id: "sidecar~127.0.0.9~client-0.default~default.svc.cluster.local" };
const VS = echoWeights;
const V3 = ECHO_V3;
const V4 = ECHO_V4;
const EXTRA = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: extra }
spec: { hosts: [extra.local], ports: [{ number: 9090, name: http }], endpoints: [{ address: 127.0.0.5 }] }`;

const Channel = makeGenericClientConstructor(adsService, "AggregatedDiscoveryService");
type Stream = ClientDuplexStream<Partial<DeltaDiscoveryRequest>, DeltaDiscoveryResponse>;

/** A delta stream spoken step by step. */
class DeltaStream {
  private readonly channel: InstanceType<typeof Channel>;
  private readonly stream: Stream;
  private readonly queue: DeltaDiscoveryResponse[] = [];
  private readonly waiters: ((r: DeltaDiscoveryResponse) => void)[] = [];
  readonly ended: Promise<{ code?: number; details?: string }>;

  constructor(target: string) {
    this.channel = new Channel(target, credentials.createInsecure());
    const method = this.channel["DeltaAggregatedResources"] as (this: unknown) => Stream;
    this.stream = method.call(this.channel);
    this.stream.on("data", (r: DeltaDiscoveryResponse) => {
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    });
    this.ended = new Promise((resolve) => this.stream.on("error", resolve));
  }

  send(r: Partial<DeltaDiscoveryRequest>): void {
    this.stream.write({ node: NODE, ...r });
  }

  next(): Promise<DeltaDiscoveryResponse> {
    const r = this.queue.shift();
    return r ? Promise.resolve(r) : new Promise((resolve) => this.waiters.push(resolve));
  }

  ack(r: DeltaDiscoveryResponse): void {
    this.send({ type_url: r.type_url, response_nonce: r.nonce });
  }

  close(): void {
    this.stream.cancel();
    this.channel.close();
  }
}

const names = (r: DeltaDiscoveryResponse): string[] =>
  r.resources.map((x) => resourceName(r.type_url, decodeResource(x.resource))).sort();

describe("incremental ADS server", () => {
  let grpc: Server;
  let ads: AdsServer;
  let target: string;
  const streams: DeltaStream[] = [];

  beforeEach(async () => {
    const generator = new SnapshotGenerator();
    generator.setModel(meshModel(ECHO_SUBSETS, VS(50)));
    ads = new AdsServer({ generator, tracker: new SyncTracker(), metrics: new XdsMetrics() });
    grpc = new Server();
    grpc.addService(adsService, ads.handlers());
    target = `127.0.0.1:${await bindGrpc(grpc, "127.0.0.1", 0)}`;
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    ads.closeAll();
    await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
  });

  function open(): DeltaStream {
    const s = new DeltaStream(target);
    streams.push(s);
    return s;
  }

  /** Subscribes like Envoy: CDS and LDS wildcard (no names), then EDS and RDS by the names they reference. */
  async function subscribeAll(s: DeltaStream, held = new Map<string, Map<string, string>>(), known: string[] = []) {
    const initial = (type: string) => Object.fromEntries(held.get(type) ?? []);
    const got = new Map<string, DeltaDiscoveryResponse>();
    s.send({ type_url: TYPE.cluster, initial_resource_versions: initial(TYPE.cluster) });
    const cds = await s.next();
    got.set(TYPE.cluster, cds);
    // The EDS names of the clusters it got, and of those it already held.
    const eds = cds.resources
      .map((x) => decodeResource(x.resource))
      .filter((c) => c["type"] === "EDS")
      .map((c) => String(c["name"]))
      .concat(known);
    s.ack(cds);
    s.send({
      type_url: TYPE.endpoint,
      resource_names_subscribe: eds,
      initial_resource_versions: initial(TYPE.endpoint),
    });
    got.set(TYPE.endpoint, await s.next());
    s.ack(got.get(TYPE.endpoint) as DeltaDiscoveryResponse);
    s.send({ type_url: TYPE.listener, initial_resource_versions: initial(TYPE.listener) });
    got.set(TYPE.listener, await s.next());
    const rds = ["7070", "80"];
    s.ack(got.get(TYPE.listener) as DeltaDiscoveryResponse);
    s.send({
      type_url: TYPE.route,
      resource_names_subscribe: rds,
      initial_resource_versions: initial(TYPE.route),
    });
    got.set(TYPE.route, await s.next());
    s.ack(got.get(TYPE.route) as DeltaDiscoveryResponse);
    await eventually(() => ads.tracker.state().some((p) => p.types["RDS"]?.acked !== undefined));
    return { eds, rds, got };
  }

  async function eventually(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(condition()).toBe(true);
  }

  it("sends everything once, then only what changed, and records ACKs that carry only a nonce", async () => {
    const s = open();
    const { eds, got } = await subscribeAll(s);
    expect(names(got.get(TYPE.endpoint) as DeltaDiscoveryResponse)).toEqual([...eds].sort());
    expect(names(got.get(TYPE.route) as DeltaDiscoveryResponse)).toEqual(["7070", "80"]);
    expect(ads.tracker.state()[0]?.types).toEqual({
      CDS: { sent: "1", acked: "1" },
      EDS: { sent: "1", acked: "1" },
      LDS: { sent: "1", acked: "1" },
      RDS: { sent: "1", acked: "1" },
    });
    // A new endpoint: the two assignments it is in, nothing else.
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(50)));
    await ads.pushAll();
    const push = await s.next();
    expect(push).toMatchObject({ type_url: TYPE.endpoint, system_version_info: "2", removed_resources: [] });
    expect(names(push)).toEqual(["outbound|7070|v1|echo", "outbound|7070||echo"]);
    expect(push.resources.every((x) => x.version.length > 0)).toBe(true);
    s.ack(push);
    // New weights: the one route table.
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(100)));
    await ads.pushAll();
    const routes = await s.next();
    expect(routes).toMatchObject({ type_url: TYPE.route, system_version_info: "3" });
    expect(names(routes)).toEqual(["7070"]);
    s.ack(routes);
    await eventually(() => ads.tracker.state()[0]?.types["RDS"]?.acked === "3");
  });

  it("names what went away: a removed ServiceEntry's cluster and listener, and its assignment", async () => {
    ads.generator.setModel(meshModel(ECHO_SUBSETS + EXTRA, VS(50)));
    const s = open();
    const { got } = await subscribeAll(s);
    expect(names(got.get(TYPE.cluster) as DeltaDiscoveryResponse)).toContain("outbound|9090||extra.local");
    ads.generator.setModel(meshModel(ECHO_SUBSETS, VS(50)));
    await ads.pushAll();
    const [cds, eds, lds] = [await s.next(), await s.next(), await s.next()];
    expect(cds).toMatchObject({ type_url: TYPE.cluster, resources: [] });
    expect(cds.removed_resources).toEqual(["outbound|9090||extra.local"]);
    // Its assignment is gone too, though the proxy still asks for it (it unsubscribes once it has taken the CDS).
    expect(eds).toMatchObject({ type_url: TYPE.endpoint, resources: [] });
    expect(eds.removed_resources).toEqual(["outbound|9090||extra.local"]);
    expect(lds.type_url).toBe(TYPE.listener);
    expect(lds.removed_resources).toContain("0.0.0.0_9090");
  });

  it("sends a changed cluster's assignment again with it, though its endpoints are the same (Envoy warms it until one comes)", async () => {
    const s = open();
    await subscribeAll(s);
    const roundRobin = ECHO_SUBSETS.replace(
      "  host: echo\n",
      "  host: echo\n  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }\n",
    );
    expect(roundRobin).not.toBe(ECHO_SUBSETS);
    ads.generator.setModel(meshModel(roundRobin, VS(50)));
    await ads.pushAll();
    const cds = await s.next();
    expect(cds.type_url).toBe(TYPE.cluster);
    const changed = names(cds).filter((n) => n.includes("|echo"));
    expect(changed).toEqual(["outbound|7070|v1|echo", "outbound|7070|v2|echo", "outbound|7070||echo"]);
    const eds = await s.next();
    expect(eds.type_url).toBe(TYPE.endpoint);
    expect(names(eds)).toEqual(changed);
  });

  it("a proxy that reconnects saying what it holds is sent only what differs", async () => {
    const first = open();
    const { got, eds } = await subscribeAll(first);
    const held = new Map<string, Map<string, string>>();
    for (const [type, r] of got) held.set(type, new Map(r.resources.map((x) => [x.name, x.version])));
    first.close();
    // Meanwhile, one endpoint more.
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(50)));
    await ads.pushAll();
    const again = open();
    const { got: now } = await subscribeAll(again, held, eds);
    expect(names(now.get(TYPE.cluster) as DeltaDiscoveryResponse)).toEqual([]);
    expect(names(now.get(TYPE.listener) as DeltaDiscoveryResponse)).toEqual([]);
    expect(names(now.get(TYPE.route) as DeltaDiscoveryResponse)).toEqual([]);
    expect(names(now.get(TYPE.endpoint) as DeltaDiscoveryResponse)).toEqual([
      "outbound|7070|v1|echo",
      "outbound|7070||echo",
    ]);
  });

  it("sends a NACKed response's resources again with the next change of their type, not before", async () => {
    const s = open();
    await subscribeAll(s);
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(50)));
    await ads.pushAll();
    const rejected = await s.next();
    s.send({ type_url: TYPE.endpoint, response_nonce: rejected.nonce, error_detail: { code: 3, message: "no" } });
    await eventually(() => ads.tracker.state()[0]?.types["EDS"]?.nack?.error === "no");
    await ads.pushAll(); // nothing changed: nothing is sent (the same response would be NACKed again)
    // New route weights are sent; the assignments aren't.
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3, VS(100)));
    await ads.pushAll();
    const routes = await s.next();
    expect(routes.type_url).toBe(TYPE.route);
    s.ack(routes);
    // A v2 endpoint changes the service's and subset v2's assignments: the v1 one NACKed comes with them.
    ads.generator.setModel(meshModel(ECHO_SUBSETS + V3 + V4, VS(100)));
    await ads.pushAll();
    const eds = await s.next();
    expect(eds.type_url).toBe(TYPE.endpoint);
    expect(names(eds)).toEqual(["outbound|7070|v1|echo", "outbound|7070|v2|echo", "outbound|7070||echo"]);
  });

  it("answers a name that doesn't exist by saying it was removed", async () => {
    const s = open();
    await subscribeAll(s);
    s.send({ type_url: TYPE.endpoint, resource_names_subscribe: ["outbound|1||nowhere"] });
    const r = await s.next();
    expect(r).toMatchObject({ type_url: TYPE.endpoint, resources: [], removed_resources: ["outbound|1||nowhere"] });
  });

  it("refuses a stream that asks by resource locator, naming the field", async () => {
    const s = open();
    s.send({
      type_url: TYPE.cluster,
      resource_locators_subscribe: [{ id: "x", resource_type: "envoy.config.cluster.v3.Cluster" }],
    } as never);
    const end = await s.ended;
    expect(end.code).toBe(3);
    expect(end.details).toContain("resource_locators_subscribe");
  });
});
