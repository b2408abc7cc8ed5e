// A hand-written ADS server for tests: each node id gets the fixed resources given for it (version "1"), every
// type answered once per subscription change; ACKs are not answered. For configs discovery doesn't render (yet).
import { Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { adsService, type DiscoveryRequest, type DiscoveryResponse } from "../../proxy/xds/ads.js";
import { encodeResource } from "../../proxy/xds/codec.js";
import { resourceName, TYPE, type JsonObject } from "../../proxy/xds/types.js";
import type { Resources } from "../../proxy/engine/config/types.js";

const TYPED: [keyof Resources, string][] = [
  ["clusters", TYPE.cluster],
  ["endpoints", TYPE.endpoint],
  ["listeners", TYPE.listener],
  ["routes", TYPE.route],
];

function withType(type: string, r: unknown): JsonObject {
  return { "@type": type, ...(r as JsonObject) };
}

export interface StaticAds {
  address: string;
  close(): Promise<void>;
}

export async function staticAds(byNode: Record<string, Resources>): Promise<StaticAds> {
  const server = new Server();
  server.addService(adsService, {
    StreamAggregatedResources: (stream: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
      let node = "";
      const sent = new Map<string, string>(); // type → the names answered
      stream.on("data", (req: DiscoveryRequest) => {
        node ||= req.node?.id ?? "";
        const res = byNode[node];
        const type = TYPED.find(([, t]) => t === req.type_url);
        if (!res || !type || req.error_detail?.message) return;
        const names = [...req.resource_names].sort().join(",");
        if (sent.get(req.type_url) === names) return; // an ACK
        sent.set(req.type_url, names);
        const all = ((res[type[0]] as unknown[] | undefined) ?? []).map((r) => withType(req.type_url, r));
        const wanted = req.resource_names.filter((n) => n !== "*");
        const picked = wanted.length === 0 ? all : all.filter((r) => wanted.includes(resourceName(req.type_url, r)));
        stream.write({
          version_info: "1",
          type_url: req.type_url,
          nonce: `${req.type_url}:${names}`,
          resources: picked.map(encodeResource),
        });
      });
      stream.on("error", () => undefined);
      stream.on("end", () => stream.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
