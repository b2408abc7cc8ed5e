import { applyForwarding, isInternalAddress, NOT_AT_EDGE, xffAddress, type Forwarding } from "./forwarded.js";

const EDGE: Forwarding = { ...NOT_AT_EDGE, useRemoteAddress: true };
const fields = (h: string[]) =>
  Object.fromEntries(Array.from({ length: h.length / 2 }, (_, i) => [h[2 * i], h[2 * i + 1]]));
const from = (peer: string, tls = false) => ({ peer, local: "10.0.0.5", localPort: 8443, tls });

describe("who the client is (Envoy's mutateRequestHeaders)", () => {
  it("reads x-forwarded-for from the right, and only IP addresses", () => {
    expect(xffAddress("1.1.1.1, 2.2.2.2,3.3.3.3", 0)).toEqual({ ip: "3.3.3.3", single: false });
    expect(xffAddress("1.1.1.1, 2.2.2.2,3.3.3.3", 2)).toEqual({ ip: "1.1.1.1", single: false });
    expect(xffAddress("1.1.1.1, 2.2.2.2", 2)).toEqual({ ip: undefined, single: false });
    expect(xffAddress("2001:db8::1", 0)).toEqual({ ip: "2001:db8::1", single: true });
    expect(xffAddress("unknown", 0)).toEqual({ ip: undefined, single: true });
  });

  it("at the edge: the peer is the client whatever x-forwarded-for says, appended, and x-forwarded-proto is the connection's", () => {
    const h = ["x-forwarded-for", "10.1.1.1", "x-forwarded-proto", "https", "x-envoy-internal", "true"];
    expect(applyForwarding(h, EDGE, from("203.0.113.9"))).toBe("203.0.113.9");
    expect(fields(h)).toEqual({
      "x-forwarded-for": "10.1.1.1,203.0.113.9",
      "x-forwarded-proto": "http",
      "x-envoy-external-address": "203.0.113.9",
    });
  });

  it("at the edge behind N trusted proxies: the client is the Nth from the right before appending", () => {
    const h = ["x-forwarded-for", "198.51.100.1, 203.0.113.7"];
    expect(applyForwarding(h, { ...EDGE, xffTrustedHops: 1 }, from("10.0.0.9", true))).toBe("203.0.113.7");
    expect(fields(h)["x-forwarded-for"]).toBe("198.51.100.1, 203.0.113.7,10.0.0.9");
    expect(fields(h)["x-forwarded-proto"]).toBe("https");
    // The load balancer terminated TLS and says so: kept, as Envoy keeps a trusted hop's x-forwarded-proto (it was
    // overwritten with the plaintext connection's http).
    const lb = ["x-forwarded-for", "203.0.113.7", "x-forwarded-proto", "https"];
    applyForwarding(lb, { ...EDGE, xffTrustedHops: 1 }, from("10.0.0.9"));
    expect(fields(lb)["x-forwarded-proto"]).toBe("https");
    // Fewer entries than trusted hops: the peer.
    expect(applyForwarding(["x-forwarded-for", "1.1.1.1"], { ...EDGE, xffTrustedHops: 3 }, from("10.0.0.9"))).toBe(
      "10.0.0.9",
    );
  });

  it("append_x_forwarded_port: the connection's port at the edge, a trusted hop's kept; nothing off the edge", () => {
    const port = { ...EDGE, appendXForwardedPort: true };
    const h = ["x-forwarded-port", "1"];
    applyForwarding(h, port, from("203.0.113.9"));
    expect(fields(h)["x-forwarded-port"]).toBe("8443");
    const lb = ["x-forwarded-for", "203.0.113.7", "x-forwarded-port", "443"];
    applyForwarding(lb, { ...port, xffTrustedHops: 1 }, from("10.0.0.9"));
    expect(fields(lb)["x-forwarded-port"]).toBe("443");
    const inner: string[] = [];
    applyForwarding(inner, { ...NOT_AT_EDGE, appendXForwardedPort: true }, from("203.0.113.9"));
    expect(fields(inner)["x-forwarded-port"]).toBeUndefined();
  });

  it("appends this proxy's address for a loopback peer, and nothing with skip_xff_append", () => {
    const h: string[] = [];
    applyForwarding(h, EDGE, from("127.0.0.1"));
    expect(fields(h)).toEqual({
      "x-forwarded-for": "10.0.0.5",
      "x-forwarded-proto": "http",
      "x-envoy-internal": "true",
    });
    const skip: string[] = [];
    applyForwarding(skip, { ...EDGE, skipXffAppend: true }, from("192.168.0.3"));
    expect(fields(skip)["x-forwarded-for"]).toBeUndefined();
  });

  it("behind an edge (a sidecar): x-forwarded-for's last entry is the client; the request is internal only if it is one internal address", () => {
    const internal = ["x-forwarded-for", "10.2.0.1"];
    expect(applyForwarding(internal, NOT_AT_EDGE, from("10.0.0.9"))).toBe("10.2.0.1");
    expect(fields(internal)["x-envoy-internal"]).toBe("true");
    const external = ["x-forwarded-for", "203.0.113.7", "x-envoy-retry-on", "5xx", "x-envoy-decorator-operation", "op"];
    expect(applyForwarding(external, NOT_AT_EDGE, from("10.0.0.9"))).toBe("203.0.113.7");
    // Control headers go from requests that are not internal; the edge-only ones stay behind an edge.
    expect(fields(external)).toEqual({ "x-forwarded-for": "203.0.113.7", "x-envoy-decorator-operation": "op" });
    // No x-forwarded-for: the peer, and external (Envoy's rule), with nothing appended.
    const none = ["x-envoy-internal", "true"];
    expect(applyForwarding(none, NOT_AT_EDGE, from("10.0.0.9"))).toBe("10.0.0.9");
    expect(none).toEqual([]);
  });

  it("knows Envoy's default internal addresses, and only those", () => {
    for (const ip of [
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "127.0.0.1",
      "::1",
      "fd00::1",
      "FD12:3456::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:10.0.0.1",
    ])
      expect([ip, isInternalAddress(ip)]).toEqual([ip, true]);
    // Not fc00::/8 nor 0fd1:: (written fd1::, which a prefix test took for unique local), nor 127.0.0.2, as Envoy.
    for (const ip of [
      "172.32.0.1",
      "8.8.8.8",
      "203.0.113.7",
      "2001:db8::1",
      "192.169.0.1",
      "fc00::1",
      "fd1::1",
      "127.0.0.2",
    ])
      expect([ip, isInternalAddress(ip)]).toEqual([ip, false]);
  });
});
