import type { ForwardAction, RequestView } from "./config/types.js";
import { parseGrpcTimeout, routeTimeoutMs, streamLimitMs } from "./grpc-timeout.js";

/** A request with (gRPC) or without a gRPC content-type, and this grpc-timeout header. */
const req = (grpc: boolean, grpcTimeout?: string): RequestView => ({
  method: "POST",
  path: "/svc/Call",
  query: "",
  header: (n) =>
    n === "content-type" ? (grpc ? "application/grpc" : "text/plain") : n === "grpc-timeout" ? grpcTimeout : undefined,
});

const action = (a: Partial<ForwardAction>): ForwardAction =>
  ({
    timeoutMs: 15_000,
    hasMaxStreamDuration: false,
    maxStreamMs: 0,
    grpcTimeoutMaxMs: undefined,
    grpcHeaderOffsetMs: 0,
    maxGrpcTimeoutMs: undefined,
    grpcTimeoutOffsetMs: 0,
    ...a,
  }) as ForwardAction;

describe("gRPC deadlines on a route", () => {
  it("reads grpc-timeout as gRPC writes it (up to 8 digits and a unit), rounding up to ms", () => {
    expect(["1H", "2M", "3S", "100m", "1500u", "1n", "0m"].map(parseGrpcTimeout)).toEqual([
      3_600_000, 120_000, 3000, 100, 2, 1, 0,
    ]);
    // Malformed: no unit, an unknown one, too many digits, a sign, spaces.
    for (const v of ["100", "1x", "123456789S", "-1S", " 1S", "1.5S", "S", undefined])
      expect([v, parseGrpcTimeout(v)]).toEqual([v, undefined]);
  });

  it("times a gRPC request by its own grpc-timeout under max_grpc_timeout, as Istio configures sidecars", () => {
    // Istio: max_grpc_timeout = the VirtualService timeout, or 0s (no cap) without one.
    expect(routeTimeoutMs(action({ timeoutMs: 0, maxGrpcTimeoutMs: 0 }), req(true, "250m"))).toBe(250);
    expect(routeTimeoutMs(action({ timeoutMs: 0, maxGrpcTimeoutMs: 0 }), req(true, undefined))).toBe(0);
    expect(routeTimeoutMs(action({ timeoutMs: 2000, maxGrpcTimeoutMs: 2000 }), req(true, "10S"))).toBe(2000);
    expect(routeTimeoutMs(action({ timeoutMs: 2000, maxGrpcTimeoutMs: 2000 }), req(true, undefined))).toBe(2000);
    expect(routeTimeoutMs(action({ maxGrpcTimeoutMs: 0, grpcTimeoutOffsetMs: 50 }), req(true, "250m"))).toBe(200);
    // Not gRPC, or a route that doesn't ask: the route's timeout.
    expect(routeTimeoutMs(action({ timeoutMs: 2000, maxGrpcTimeoutMs: 0 }), req(false, "250m"))).toBe(2000);
    expect(routeTimeoutMs(action({ timeoutMs: 2000 }), req(true, "250m"))).toBe(2000);
    // With max_stream_duration (Envoy's new timeouts), the stream's limit replaces them both.
    expect(routeTimeoutMs(action({ timeoutMs: 2000, hasMaxStreamDuration: true }), req(false, undefined))).toBe(0);
  });

  it("limits the stream by max_stream_duration, or by grpc-timeout when grpc_timeout_header_max is set", () => {
    expect(streamLimitMs(action({}), req(true, "1S"))).toBeUndefined();
    expect(streamLimitMs(action({ maxStreamMs: 300 }), req(true, "1S"))).toBe(300);
    expect(streamLimitMs(action({ maxStreamMs: 300, grpcTimeoutMaxMs: 0 }), req(true, "1S"))).toBe(1000);
    expect(streamLimitMs(action({ maxStreamMs: 300, grpcTimeoutMaxMs: 0 }), req(true, undefined))).toBe(300);
    expect(streamLimitMs(action({ grpcTimeoutMaxMs: 500 }), req(true, "1S"))).toBe(500);
    expect(streamLimitMs(action({ grpcTimeoutMaxMs: 0, grpcHeaderOffsetMs: 100 }), req(true, "1S"))).toBe(900);
    // A deadline already spent (the offset takes it all, or the client sent 0) ends the stream at once, not never.
    expect(streamLimitMs(action({ grpcTimeoutMaxMs: 0, grpcHeaderOffsetMs: 2000 }), req(true, "1S"))).toBe(0);
    expect(streamLimitMs(action({ grpcTimeoutMaxMs: 0, maxStreamMs: 300 }), req(true, "0m"))).toBe(0);
  });
});
