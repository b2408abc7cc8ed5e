import { formatStatus, statusRows, xdsState } from "./proxy-status.js";
import type { ProxyStatusResponse } from "../../discovery/ads/syncz.js";

describe("proxy-status states, as istioctl names them", () => {
  it("NOT SENT, SYNCED, STALE, STALE (Never Acknowledged), NACKED", () => {
    expect(xdsState(undefined)).toBe("NOT SENT");
    expect(xdsState({ sent: "3", acked: "3" })).toBe("SYNCED");
    expect(xdsState({ sent: "4", acked: "3" })).toBe("STALE");
    expect(xdsState({ sent: "1" })).toBe("STALE (Never Acknowledged)");
    expect(xdsState({ sent: "4", acked: "3", nack: { version: "4", error: "bad", at: "" } })).toBe("NACKED");
  });

  it("one row per proxy from every replica, sorted, then each NACK with its error", () => {
    const responses: ProxyStatusResponse[] = [
      {
        replica: "weftd-b",
        version: "0.2.0",
        proxies: [
          {
            node: "sidecar~10.0.0.2~reviews-v1-x.shop~shop.svc.cluster.local",
            connectedSince: "",
            types: {
              CDS: { sent: "2", acked: "2" },
              LDS: { sent: "2", acked: "2" },
              RDS: { sent: "2", acked: "1", nack: { version: "2", error: "9080: bad regex", at: "" } },
            },
            engine: { engine: "0.2.0", phase: "Running" } as never,
          },
        ],
      },
      {
        replica: "weftd-a",
        version: "0.2.0",
        proxies: [
          { node: "router~10.0.0.1~gw-1.istio-system~istio-system.svc.cluster.local", connectedSince: "", types: {} },
        ],
      },
    ];
    const text = formatStatus(statusRows(responses), "Kubernetes");
    expect(text.split("\n").map((l) => l.split(/\s{2,}/))).toEqual([
      ["NAME", "CLUSTER", "CDS", "LDS", "EDS", "RDS", "ECDS", "ISTIOD", "VERSION"],
      ["gw-1.istio-system", "Kubernetes", "NOT SENT", "NOT SENT", "NOT SENT", "NOT SENT", "NOT SENT", "weftd-a"],
      ["reviews-v1-x.shop", "Kubernetes", "SYNCED", "SYNCED", "NOT SENT", "NACKED", "NOT SENT", "weftd-b", "0.2.0"],
      [""],
      ["NACKED reviews-v1-x.shop RDS: 9080: bad regex"],
      [""],
    ]);
  });
});
