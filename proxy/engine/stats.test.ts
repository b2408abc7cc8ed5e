import { Stats, type RequestRecord } from "./stats.js";

const rec = (over: Partial<RequestRecord>): RequestRecord => ({
  inbound: false,
  cluster: "outbound|9080||reviews.default.svc.cluster.local",
  peerWorkload: undefined,
  code: 200,
  flags: "-",
  durationMs: 1,
  requestBytes: 0,
  responseBytes: 2,
  ...over,
});

/** istio_requests_total's samples as "labels → value". */
async function totals(stats: Stats): Promise<Map<string, number>> {
  return new Map(
    stats.registry
      .samples("istio_requests_total")
      .map((v) => [
        `${v.labels?.response_code} ${v.labels?.response_flags} ${v.labels?.grpc_response_status}`,
        v.value,
      ]),
  );
}

describe("istio_requests_total's series", () => {
  it("counts each request in its own labels' series, however they interleave", async () => {
    const stats = new Stats();
    const order = [200, 503, 200, 200, 404, 503, 200];
    for (const code of order) stats.record(rec({ code, flags: code === 503 ? "UF" : "-" }));
    stats.record(rec({ code: 200, protocol: "grpc", grpcStatus: "0" }));
    stats.record(rec({ code: 200, protocol: "grpc", grpcStatus: "14" }));
    stats.record(rec({ code: 200, protocol: "grpc", grpcStatus: "14" }));
    expect(Object.fromEntries(await totals(stats))).toEqual({
      "200 - ": 4,
      "503 UF ": 2,
      "404 - ": 1,
      "200 - 0": 1,
      "200 - 14": 2,
    });
  });
});
