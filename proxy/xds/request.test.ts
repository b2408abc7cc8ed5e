// The server's DiscoveryRequest decoder reads what the full decoder reads, and tells repeated names by their bytes.
import { decodeRequest } from "./ads.js";
import { encodeRequest, type DiscoveryRequest } from "./ads-wire.js";
import { decodeRequestLazily } from "./request.js";
import { TYPE } from "./types.js";

const request = (names: string[], extra: Partial<DiscoveryRequest> = {}): DiscoveryRequest => ({
  version_info: "7",
  type_url: TYPE.endpoint,
  response_nonce: "7:12",
  resource_names: names,
  node: {
    id: "sidecar~10.0.0.1~a.b~b.svc.cluster.local",
    user_agent_name: "weft",
    metadata: { fields: { WEFT_ENGINE: { stringValue: '{"engine":"1.2.3"}' } } },
  },
  ...extra,
});

const plain = (r: DiscoveryRequest) => ({
  version_info: r.version_info,
  type_url: r.type_url,
  response_nonce: r.response_nonce,
  resource_names: r.resource_names,
  node: r.node ?? undefined,
  error: r.error_detail ? { code: r.error_detail.code, message: r.error_detail.message } : undefined,
});

describe("decodeRequestLazily", () => {
  it.each([
    ["an ACK", request(["outbound|80||a", "outbound|80||b"])],
    ["a NACK", request(["x"], { error_detail: { code: 3, message: "no" } })],
    ["no names and no node", { ...request([]), node: undefined }],
  ])("reads %s as the full decoder does", (_, r) => {
    const bytes = encodeRequest(r);
    expect(plain(decodeRequestLazily(bytes))).toEqual(plain(decodeRequest(bytes)));
  });

  it("gives equal name bytes for equal name lists, and different ones otherwise", () => {
    const a = decodeRequestLazily(encodeRequest(request(["p", "q"])));
    const b = decodeRequestLazily(encodeRequest(request(["p", "q"], { response_nonce: "8:1", version_info: "8" })));
    const c = decodeRequestLazily(encodeRequest(request(["p", "r"])));
    expect(a.namesBytes?.equals(b.namesBytes as Buffer)).toBe(true);
    expect(a.namesBytes?.equals(c.namesBytes as Buffer)).toBe(false);
    expect(a.nodeBytes?.equals(b.nodeBytes as Buffer)).toBe(true);
  });

  it("reads names split around other fields, with no bytes to compare", () => {
    const head = encodeRequest({ ...request(["a"]), node: undefined });
    const tail = encodeRequest({ version_info: "", type_url: "", response_nonce: "", resource_names: ["b"] });
    const r = decodeRequestLazily(Buffer.concat([head, tail]));
    expect(r.resource_names).toEqual(["a", "b"]);
    expect(r.namesBytes).toBeUndefined();
  });

  it("refuses names that aren't length-delimited, or run past the end", () => {
    expect(() => decodeRequestLazily(Buffer.from([0x18, 0x01]))).toThrow(/field 3 is not length-delimited/);
    expect(() => decodeRequestLazily(Buffer.from([0x1a, 0x05, 0x61]))).toThrow(/runs past the end/);
  });
});
