// The lean bench client reads each response's version, type and nonce however the bytes are split into chunks,
// and gets the same as a full decode; and it syncs with discovery's server over both stream kinds.
import { Server } from "@grpc/grpc-js";
import { SnapshotGenerator } from "../../operator/discovery/ads/generator.js";
import { XdsMetrics } from "../../operator/discovery/ads/metrics.js";
import { AdsServer } from "../../operator/discovery/ads/server.js";
import { SyncTracker } from "../../operator/discovery/ads/tracker.js";
import { bindGrpc } from "../../operator/discovery/server.js";
import { parseNodeId } from "../../operator/discovery/translate/index.js";
import { adsService, encodeResponse } from "../../proxy/xds/ads.js";
import { decodeResponse } from "../../proxy/xds/ads-wire.js";
import { TYPE } from "../../proxy/xds/types.js";
import { ECHO_SUBSETS, meshModel } from "../../test/support/discovery/mesh.js";
import { LeanProxy, ResponseSkimmer } from "./lean-ads.js";

function framed(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

describe("ResponseSkimmer", () => {
  const responses = [
    {
      version_info: "7",
      type_url: TYPE.route,
      nonce: "7:3",
      resources: [{ type_url: TYPE.route, value: Buffer.alloc(70_000, 1) }],
    },
    { version_info: "", type_url: TYPE.cluster, nonce: "", resources: [] },
    {
      version_info: "8",
      type_url: TYPE.endpoint,
      nonce: "8:1:2",
      resources: Array.from({ length: 300 }, (_, i) => ({
        type_url: TYPE.endpoint,
        value: Buffer.from(`assignment ${i}`),
      })),
    },
  ];
  const bytes = Buffer.concat(responses.map((r) => framed(encodeResponse(r))));
  const expected = responses.map((r) => {
    const d = decodeResponse(encodeResponse(r));
    return { version_info: d.version_info, type_url: d.type_url, nonce: d.nonce, resources: [] };
  });

  it.each([1, 2, 3, 7, 16_384, bytes.length])("reads the heads of responses split into %i-byte chunks", (size) => {
    const got: unknown[] = [];
    const skimmer = new ResponseSkimmer((r) => got.push(r));
    for (let i = 0; i < bytes.length; i += size) skimmer.push(bytes.subarray(i, i + size));
    expect(got).toEqual(expected);
  });
});

describe("LeanProxy", () => {
  it.each([false, true])("syncs with discovery's ADS server (delta %s), ACKing every response", async (delta) => {
    const generator = new SnapshotGenerator();
    generator.setModel(meshModel(ECHO_SUBSETS, ""));
    const ads = new AdsServer({ generator, tracker: new SyncTracker(), metrics: new XdsMetrics() });
    const grpc = new Server();
    grpc.addService(adsService, ads.handlers());
    const address = `127.0.0.1:${await bindGrpc(grpc, "127.0.0.1", 0)}`;
    const id = "sidecar~127.0.0.9~client-0.default~default.svc.cluster.local";
    const snapshot = generator.snapshotFor(parseNodeId(id, "envoy"), []);
    const eds = [...(snapshot.resources.get(TYPE.endpoint)?.keys() ?? [])];
    const proxy = new LeanProxy(address, id, { eds, rds: ["7070", "80"] }, undefined, delta);
    try {
      proxy.start();
      for (let i = 0; i < 400 && !ads.tracker.state()[0]?.types["RDS"]?.acked; i++)
        await new Promise((resolve) => setTimeout(resolve, 5));
      expect(proxy.synced).toBe(true);
      expect(ads.tracker.state()[0]?.types).toEqual({
        CDS: { sent: "1", acked: "1" },
        EDS: { sent: "1", acked: "1" },
        LDS: { sent: "1", acked: "1" },
        RDS: { sent: "1", acked: "1" },
      });
    } finally {
      proxy.close();
      ads.closeAll();
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
    }
  });
});
