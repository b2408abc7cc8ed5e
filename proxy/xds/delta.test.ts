// A delta request as discovery reads it from a proxy: what it says is kept, and bytes that aren't shaped as the
// message says are refused rather than misread.
import { encodeDeltaRequest } from "./delta.js";
import { decodeDeltaRequest } from "./request.js";
import { TYPE } from "./types.js";

describe("decodeDeltaRequest", () => {
  it("reads the subscription, what the proxy holds, and the answer", () => {
    const request = {
      type_url: TYPE.endpoint,
      resource_names_subscribe: ["a", "b"],
      resource_names_unsubscribe: ["c"],
      initial_resource_versions: { a: "h1", b: "h2" },
      response_nonce: "7:1:d0",
      error_detail: { code: 3, message: "no" },
    };
    expect(decodeDeltaRequest(encodeDeltaRequest(request))).toMatchObject({ ...request, unsupported: [] });
  });

  it.each([
    ["initial_resource_versions as a number", [0x28, 0x01], 5],
    ["type_url as a number", [0x10, 0x01], 2],
  ])("refuses %s, naming the field", (_, bytes, field) => {
    expect(() => decodeDeltaRequest(Buffer.from(bytes))).toThrow(`field ${field} is not length-delimited`);
  });
});
