// The lean bench client reads each response's version, type and nonce however the bytes are split into chunks,
// and gets the same as a full decode.
import { decodeResponse, encodeResponse } from "../../proxy/xds/ads.js";
import { TYPE } from "../../proxy/xds/types.js";
import { ResponseSkimmer } from "./lean-ads.js";

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
