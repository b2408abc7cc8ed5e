// The ADS client over incremental xDS, against discovery's server: the check sees each response as state of the
// world (every cluster, though only changes travel), what a NACK rejected is not held, a reconnection resumes, and
// a server without delta gets state of the world.
import { Server, type ServerDuplexStream } from "@grpc/grpc-js";
import { bindGrpc } from "../../operator/discovery/server.js";
import { SnapshotGenerator } from "../../operator/discovery/ads/generator.js";
import { XdsMetrics } from "../../operator/discovery/ads/metrics.js";
import { AdsServer } from "../../operator/discovery/ads/server.js";
import { SyncTracker } from "../../operator/discovery/ads/tracker.js";
import { ECHO_SUBSETS, meshModel } from "../../test/support/discovery/mesh.js";
import { adsService, type DiscoveryRequest, type DiscoveryResponse } from "./ads.js";
import { AdsClient } from "./client.js";
import { decodeResource, encodeResource } from "./codec.js";
import type { DeltaDiscoveryResponse } from "./delta.js";
import type { RawDeltaRequest } from "./request.js";
import { TYPE } from "./types.js";

const NODE = { id: "sidecar~127.0.0.9~client-0.default~default.svc.cluster.local" };
const EXTRA = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: extra }
spec: { hosts: [extra.local], ports: [{ number: 9090, name: http }], endpoints: [{ address: 127.0.0.5 }] }`;
const EXTRA_CLUSTER = "outbound|9090||extra.local";

const clusters = (r: DiscoveryResponse): string[] => r.resources.map((x) => String(decodeResource(x)["name"])).sort();

/** Each response the check saw, and a way to wait for the next that passes a test. */
class Seen {
  readonly all: DiscoveryResponse[] = [];
  private waiters: { test: (r: DiscoveryResponse) => boolean; resolve: (r: DiscoveryResponse) => void }[] = [];
  add(r: DiscoveryResponse): void {
    this.all.push(r);
    this.waiters = this.waiters.filter((w) => !(w.test(r) && (w.resolve(r), true)));
  }
  next(test: (r: DiscoveryResponse) => boolean): Promise<DiscoveryResponse> {
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

describe("AdsClient over incremental xDS", () => {
  let grpc: Server;
  let client: AdsClient | undefined;
  let target: string;

  afterEach(async () => {
    client?.close();
    await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
  });

  it("shows the check every cluster while only changes travel, and resumes on a new stream", async () => {
    const generator = new SnapshotGenerator();
    generator.setModel(meshModel(ECHO_SUBSETS, ""));
    const ads = new AdsServer({ generator, tracker: new SyncTracker(), metrics: new XdsMetrics() });
    grpc = new Server();
    grpc.addService(adsService, ads.handlers());
    target = `127.0.0.1:${await bindGrpc(grpc, "127.0.0.1", 0)}`;
    const seen = new Seen();
    const cds = (r: DiscoveryResponse) => r.type_url === TYPE.cluster;
    let refuse = false;
    const first = seen.next(cds);
    client = new AdsClient({
      server: target,
      node: NODE,
      delta: true,
      onResponse: (r) => {
        seen.add(r);
        return refuse && clusters(r).includes(EXTRA_CLUSTER) ? "not that one" : undefined;
      },
    });
    client.subscribe(TYPE.cluster);
    const base = clusters(await first);
    expect(base.length).toBeGreaterThan(1);
    expect(client.incremental).toBe(true);

    // One more cluster: the server sends one; the check sees all.
    let next = seen.next(cds);
    generator.setModel(meshModel(ECHO_SUBSETS + EXTRA, ""));
    await ads.pushAll();
    expect(clusters(await next)).toEqual([...base, EXTRA_CLUSTER].sort());

    // Dropped, then added again and NACKed: what it holds is as before the NACK.
    next = seen.next(cds);
    generator.setModel(meshModel(ECHO_SUBSETS, ""));
    await ads.pushAll();
    expect(clusters(await next)).toEqual(base);
    refuse = true;
    next = seen.next(cds);
    generator.setModel(meshModel(ECHO_SUBSETS + EXTRA, ""));
    await ads.pushAll();
    expect(clusters(await next)).toContain(EXTRA_CLUSTER);
    refuse = false;
    next = seen.next(cds);
    generator.setModel(meshModel(ECHO_SUBSETS, ""));
    await ads.pushAll();
    expect(clusters(await next)).toEqual(base);

    // The server drops every stream; the new one says what it holds, and the check still sees every cluster.
    next = seen.next(cds);
    ads.closeAll();
    expect(clusters(await next)).toEqual(base);
    expect(client.incremental).toBe(true);
  });

  it("holds what it ACKed, not what it NACKed: the next response is applied to what it held before", async () => {
    grpc = new Server();
    let stream: ServerDuplexStream<unknown, DeltaDiscoveryResponse> | undefined;
    const answers: { nonce: string; error?: string }[] = [];
    const answered: (() => void)[] = [];
    grpc.addService(adsService, {
      StreamAggregatedResources: () => undefined,
      DeltaAggregatedResources: (s: ServerDuplexStream<RawDeltaRequest, DeltaDiscoveryResponse>) => {
        stream = s;
        s.on("data", (r: RawDeltaRequest) => {
          if (!r.response_nonce) return;
          answers.push({ nonce: r.response_nonce, error: r.error_detail?.message || undefined });
          answered.shift()?.();
        });
        s.on("error", () => undefined);
        answered.shift()?.();
      },
    });
    target = `127.0.0.1:${await bindGrpc(grpc, "127.0.0.1", 0)}`;
    const send = async (nonce: string, add: string[]): Promise<void> => {
      const done = new Promise<void>((resolve) => answered.push(resolve));
      stream?.write({
        system_version_info: nonce,
        type_url: TYPE.cluster,
        nonce,
        removed_resources: [],
        resources: add.map((name) => ({
          name,
          version: "1",
          resource: encodeResource({ "@type": TYPE.cluster, name, type: "STATIC" }),
        })),
      });
      await done;
    };
    const seen = new Seen();
    const connected = new Promise<void>((resolve) => answered.push(resolve));
    client = new AdsClient({
      server: target,
      node: NODE,
      delta: true,
      onResponse: (r) => {
        seen.add(r);
        return clusters(r).includes("b") ? "no b" : undefined;
      },
    });
    client.subscribe(TYPE.cluster);
    await connected;
    await send("1", ["a"]);
    await send("2", ["b"]);
    await send("3", ["c"]);
    expect(answers).toEqual([{ nonce: "1" }, { nonce: "2", error: "no b" }, { nonce: "3" }]);
    expect(seen.all.map(clusters)).toEqual([["a"], ["a", "b"], ["a", "c"]]);
  });

  it("falls back to state of the world when the server has no incremental xDS", async () => {
    grpc = new Server();
    const asked: DiscoveryRequest[] = [];
    grpc.addService(adsService, {
      StreamAggregatedResources: (stream: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        stream.on("data", (r: DiscoveryRequest) => {
          asked.push(r);
          if (!r.response_nonce) stream.write({ version_info: "1", type_url: r.type_url, nonce: "n1", resources: [] });
        });
        stream.on("error", () => undefined);
      },
    });
    target = `127.0.0.1:${await bindGrpc(grpc, "127.0.0.1", 0)}`;
    const seen = new Seen();
    const got = seen.next(() => true);
    const lines: string[] = [];
    client = new AdsClient({
      server: target,
      node: NODE,
      delta: true,
      log: (line) => lines.push(line),
      onResponse: (r) => void seen.add(r),
    });
    client.subscribe(TYPE.listener);
    expect(await got).toMatchObject({ type_url: TYPE.listener, version_info: "1", nonce: "n1" });
    expect(client.incremental).toBe(false);
    expect(lines.join("\n")).toContain("doesn't implement incremental xDS");
  });
});
