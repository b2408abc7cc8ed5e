// A response framed once goes to every stream as the same bytes, through grpc-js's own server, and arrives intact.
import { Server, type ServerDuplexStream } from "@grpc/grpc-js";
import { FramedResponse, adsService, encodeResponse } from "../../../proxy/xds/ads.js";
import type { DiscoveryRequest } from "../../../proxy/xds/ads.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { RawAdsClient } from "../../../test/support/discovery/adsclient.js";
import { bindGrpc } from "../server.js";
import { shareFrames } from "./frames.js";

const NODE = "sidecar~127.0.0.9~client-0.default~default.svc.cluster.local";

describe("shared response frames", () => {
  it("hand every stream the one frame, and every client decodes it", async () => {
    const framed = new FramedResponse(
      encodeResponse({ version_info: "7", resources: [], type_url: TYPE.cluster, nonce: "7:1" }),
    );
    const seen: Array<{ hooked: boolean; same: boolean }> = [];
    const grpc = new Server();
    grpc.addService(adsService, {
      StreamAggregatedResources: (stream: ServerDuplexStream<DiscoveryRequest, FramedResponse>) => {
        const hooked = shareFrames(stream);
        const call = (stream as unknown as { call: { serializeMessage(v: unknown): Buffer } }).call;
        seen.push({ hooked, same: call.serializeMessage(framed) === framed.frame });
        stream.on("data", () => stream.write(framed));
      },
    });
    const port = await bindGrpc(grpc, "127.0.0.1", 0);
    const clients = [0, 1].map(() => new RawAdsClient(`127.0.0.1:${port}`, NODE));
    try {
      for (const c of clients) c.request(TYPE.cluster);
      const got = await Promise.all(clients.map((c) => c.next()));
      expect(got.map((r) => [r.version_info, r.type_url, r.nonce])).toEqual([
        ["7", TYPE.cluster, "7:1"],
        ["7", TYPE.cluster, "7:1"],
      ]);
      // This grpc-js still has the hook: were it gone, each push would copy every response once per proxy.
      expect(seen).toEqual([
        { hooked: true, same: true },
        { hooked: true, same: true },
      ]);
    } finally {
      for (const c of clients) c.close();
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
    }
  });

  it("leave other messages to grpc-js, and a stream without the hook still sends the response", () => {
    const framed = new FramedResponse(Buffer.from("abc"));
    expect(shareFrames({})).toBe(false);
    expect(encodeResponse(framed)).toEqual(Buffer.from("abc"));
    expect([...framed.frame]).toEqual([0, 0, 0, 0, 3, 97, 98, 99]);
    const call = { serializeMessage: (v: unknown) => Buffer.from(`copy of ${String(v)}`) };
    expect(shareFrames({ call })).toBe(true);
    expect(call.serializeMessage("x").toString()).toBe("copy of x");
    expect(call.serializeMessage(framed)).toBe(framed.frame);
  });
});
