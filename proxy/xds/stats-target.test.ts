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

  describe("on the mTLS port, where the peer may be a node's masquerading address", () => {
    // The certificate is ns reviews-ns, sa reviews; the pod 10.244.0.7 runs as it, 10.244.0.9 as another identity.
    const vouched = (nodeIp: string) => ({ nodeIp, isOwn: (ip: string) => ip === "10.244.0.7" });
    const masqueraded = "ipv4:10.244.0.1:41000";

    it("scrapes the pod's own IP, when a workload of the certificate's identity has it", () => {
      expect(scrapeUrl("0.0.0.0:15090", masqueraded, vouched("10.244.0.7"))).toEqual({
        url: "http://10.244.0.7:15090/stats/prometheus",
      });
      expect(scrapeUrl("10.244.0.7:15090", masqueraded, vouched("10.244.0.7"))).toEqual({
        url: "http://10.244.0.7:15090/stats/prometheus",
      });
    });

    it("refuses an IP of another identity's workload, or of no workload, whatever the node id claims", () => {
      expect(scrapeUrl("10.244.0.9:15090", masqueraded, vouched("10.244.0.9"))).toEqual({
        error: "announced metrics host 10.244.0.9 is not the proxy's own address 10.244.0.1",
      });
      // A node id claiming another pod's IP falls back to the peer, never to the claimed IP.
      expect(scrapeUrl("0.0.0.0:15090", masqueraded, vouched("10.244.0.9"))).toEqual({
        url: "http://10.244.0.1:15090/stats/prometheus",
      });
      expect(scrapeUrl("169.254.169.254:80", masqueraded, vouched("10.244.0.7"))).toHaveProperty("error");
    });
  });
});
