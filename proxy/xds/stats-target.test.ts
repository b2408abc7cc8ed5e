import { describe, expect, it } from "@jest/globals";
import { peerIp, scrapeUrl } from "./stats-target.js";

describe("where discovery reads a proxy's metrics", () => {
  it("reads the gRPC peer's IP", () => {
    expect(peerIp("ipv4:10.0.0.5:41234")).toBe("10.0.0.5");
    expect(peerIp("[::1]:5")).toBe("::1");
    expect(peerIp("unix:/x")).toBeUndefined();
  });

  it("dials back only the address the proxy connects from (any address bound: that one)", () => {
    expect(scrapeUrl("0.0.0.0:15090", "ipv4:10.244.0.7:5000")).toEqual({
      url: "http://10.244.0.7:15090/stats/prometheus",
    });
    expect(scrapeUrl("10.244.0.7:15090", "10.244.0.7:5000")).toEqual({
      url: "http://10.244.0.7:15090/stats/prometheus",
    });
  });

  it("refuses another host, so an xDS client can't aim discovery elsewhere", () => {
    expect(scrapeUrl("169.254.169.254:80", "ipv4:10.244.0.7:5000")).toEqual({
      error: "announced metrics host 169.254.169.254 is not the proxy's own address 10.244.0.7",
    });
    expect(scrapeUrl("metadata.google.internal:80", "10.244.0.7:1")).toHaveProperty("error");
    expect(scrapeUrl(undefined, "10.244.0.7:1")).toHaveProperty("error");
  });

  it("in local mode (loopback peer) a sidecar's own loopback IP is allowed", () => {
    expect(scrapeUrl("127.0.10.12:15090", "ipv4:127.0.0.1:40000")).toEqual({
      url: "http://127.0.10.12:15090/stats/prometheus",
    });
  });
});
