import { reportFromData, staleReportKeys } from "./proxy-report.js";

const report = (
  connected: number,
  synced: number,
  nacked: number,
  version: string,
  nacks: { node: string; type: string; error: string }[] = [],
) =>
  JSON.stringify({
    connected,
    synced,
    nacked,
    versions: { [version]: connected },
    nacks,
    updated: "2026-01-01T00:00:00Z",
  });

describe("the proxy report in ConfigMap weft-proxy-status", () => {
  it("adds up every weftd replica's key", () => {
    const data = {
      "status.weftd-a.json": report(2, 2, 0, "7"),
      "status.weftd-b.json": report(3, 1, 1, "7", [{ node: "sidecar~b", type: "RDS", error: "bad regex" }]),
      other: "ignored",
    };
    expect(reportFromData(data)).toEqual({
      connected: 5,
      synced: 3,
      nacked: 1,
      versions: { "7": 5 },
      nacks: [{ node: "sidecar~b", type: "RDS", error: "bad regex" }],
    });
  });

  it("reads a lone status.json, skips what doesn't parse, and is undefined without any report", () => {
    expect(reportFromData({ "status.json": report(1, 1, 0, "2"), "status.x.json": "{not json" })).toMatchObject({
      connected: 1,
      synced: 1,
    });
    expect(reportFromData({ "status.x.json": "null" })).toBeUndefined();
    expect(reportFromData(undefined)).toBeUndefined();
  });

  it("a replica that is gone has its key pruned; the live ones and this one keep theirs", () => {
    const data = {
      "status.weftd-a.json": "{}",
      "status.weftd-gone.json": "{}",
      "status.me.json": "{}",
      "status.json": "{}",
    };
    expect(staleReportKeys(data, "me", ["weftd-a"])).toEqual(["status.weftd-gone.json"]);
  });
});
