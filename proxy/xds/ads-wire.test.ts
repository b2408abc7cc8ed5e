// The agent's ADS and CA messages on the bare wire, against protobufjs' encoding of the same objects: the bytes it
// writes are protobufjs' bytes (discovery reads them), and what it reads of a response is what protobufjs reads.
import { decodeResponse, encodeRequest, type DiscoveryRequest } from "./ads-wire.js";
import { decodeCertificateResponse, encodeCertificateRequest } from "./ca.js";
import { decodeDeltaResponse, encodeDeltaRequest, type DeltaDiscoveryRequest } from "./delta.js";
import { messageType } from "./protos.js";
import { TYPE } from "./types.js";

const encode = (name: string, v: object): Buffer => {
  const t = messageType(name);
  return Buffer.from(t.encode(t.fromObject(v as Record<string, unknown>)).finish());
};
const node = {
  id: "sidecar~10.0.0.1~p.ns~ns.svc.cluster.local",
  cluster: "reviews.ns",
  user_agent_name: "weft",
  user_agent_version: "0.2.0",
  locality: { region: "r", zone: "z", sub_zone: "" },
  metadata: { fields: { WEFT_ENGINE: { stringValue: '{"phase":"Running"}' }, STATS: { stringValue: "" } } },
};
const any = (n: number) => ({ type_url: TYPE.cluster, value: Buffer.from([0x0a, 0x01, 0x60 + n]) });

describe("the agent's ADS messages (no protobufjs)", () => {
  it("writes a DiscoveryRequest as protobufjs does: node, metadata, names, an empty version, a NACK's status", () => {
    const requests: DiscoveryRequest[] = [
      { version_info: "", node, resource_names: [], type_url: TYPE.cluster, response_nonce: "" },
      {
        version_info: "v7",
        resource_names: ["a", "b", "ü"],
        type_url: TYPE.endpoint,
        response_nonce: "n1",
        error_detail: { code: 3, message: 'Cluster "c": bad' },
      },
    ];
    for (const r of requests)
      expect(encodeRequest(r)).toEqual(encode("envoy.service.discovery.v3.DiscoveryRequest", r));
  });

  it("writes a DeltaDiscoveryRequest as protobufjs does, held versions included", () => {
    const requests: Partial<DeltaDiscoveryRequest>[] = [
      {
        node,
        type_url: TYPE.cluster,
        resource_names_subscribe: ["x"],
        resource_names_unsubscribe: ["y", "z"],
        initial_resource_versions: { a: "1", b: "2" },
        response_nonce: "",
      },
      { type_url: TYPE.route, response_nonce: "n", error_detail: { code: 3, message: "no" } },
    ];
    for (const r of requests)
      expect(encodeDeltaRequest(r)).toEqual(encode("envoy.service.discovery.v3.DeltaDiscoveryRequest", r));
  });

  it("reads responses as protobufjs does, skipping fields it doesn't use", () => {
    const sotw = { version_info: "v1", resources: [any(1), any(2)], canary: true, type_url: TYPE.cluster, nonce: "n" };
    const bytes = encode("envoy.service.discovery.v3.DiscoveryResponse", {
      ...sotw,
      control_plane: { identifier: "istiod" },
    });
    expect(decodeResponse(bytes)).toEqual({
      version_info: "v1",
      resources: sotw.resources,
      type_url: TYPE.cluster,
      nonce: "n",
    });
    const delta = {
      system_version_info: "s",
      type_url: TYPE.cluster,
      nonce: "n2",
      resources: [
        { name: "c", version: "3", resource: any(3), aliases: ["al"] },
        { name: "empty", version: "" },
      ],
      removed_resources: ["gone"],
    };
    expect(decodeDeltaResponse(encode("envoy.service.discovery.v3.DeltaDiscoveryResponse", delta))).toEqual({
      ...delta,
      resources: [
        { name: "c", version: "3", resource: any(3) },
        { name: "empty", version: "", resource: null },
      ],
    });
  });

  it("writes the CA's request and reads its response as protobufjs does", () => {
    const req = { csr: "-----BEGIN CERTIFICATE REQUEST-----\n", validity_duration: 86400 };
    const ca = {
      nested: {
        IstioCertificateRequest: {
          fields: { csr: { type: "string", id: 1 }, validity_duration: { type: "int64", id: 3 } },
        },
        IstioCertificateResponse: { fields: { cert_chain: { rule: "repeated", type: "string", id: 1 } } },
      },
    };
    // protobufjs, as ca.ts used it before.
    return import("protobufjs").then(({ default: protobuf }) => {
      const root = protobuf.Root.fromJSON(ca);
      const Req = root.lookupType("IstioCertificateRequest");
      const Res = root.lookupType("IstioCertificateResponse");
      expect(encodeCertificateRequest(req)).toEqual(Buffer.from(Req.encode(Req.fromObject(req)).finish()));
      const chain = { cert_chain: ["leaf", "root"] };
      expect(decodeCertificateResponse(Buffer.from(Res.encode(Res.fromObject(chain)).finish()))).toEqual(chain);
    });
  });
});
