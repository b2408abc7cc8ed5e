// The local layout against discovery's translate and the agent's shaping, without processes: what each Bookinfo
// proxy would be served compiles in the engine and binds where the layout says.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseYaml } from "../../test/support/discovery/bookinfo.js";
import { normalise } from "../../operator/discovery/model/normalise.js";
import { parseNodeId, translate } from "../../operator/discovery/translate/index.js";
import { compile } from "../../proxy/engine/config/index.js";
import { localShape } from "../../proxy/agent/local-shape.js";
import { nodeIp } from "../../proxy/agent/xds-main.js";
import { gatewayNodeId, layout, sidecarNodeId } from "./layout.js";
import { BOOKINFO_WORKLOADS, NETWORKING, readWorkloads, repoRoot, seedConfig } from "./mesh.js";

describe("local layout", () => {
  const bookinfo = readWorkloads(BOOKINFO_WORKLOADS(repoRoot()));
  const l = layout({}, bookinfo.workloads);
  const dir = mkdtempSync(path.join(tmpdir(), "weft-local-"));

  it("gives every workload its own loopback IPs, none of them 127.0.0.1", () => {
    const ips = l.workloads.flatMap((w) => [w.ip, w.appIp]);
    expect(new Set(ips).size).toBe(ips.length);
    expect(ips.every((ip) => ip.startsWith("127.") && ip !== "127.0.0.1")).toBe(true);
    expect(nodeIp(sidecarNodeId(l.workloads[0] as (typeof l.workloads)[0]))).toBe("127.0.10.11");
  });

  it("seeds a config whose translation each proxy can run, bound on its own address", async () => {
    await seedConfig(l, dir, [...bookinfo.config, path.join(NETWORKING(repoRoot()), "virtual-service-all-v1.yaml")]);
    expect(readdirSync(dir).sort()).toEqual([
      "bookinfo-gateway.yaml",
      "destination-rule-all.yaml",
      "services.yaml",
      "virtual-service-all-v1.yaml",
    ]);
    const model = normalise(readdirSync(dir).flatMap((f) => parseYaml(readFileSync(path.join(dir, f), "utf8")))).model;
    for (const w of l.workloads) {
      const r = translate(model, parseNodeId(sidecarNodeId(w)));
      const cfg = compile(localShape(r, { ip: w.ip, appAddress: w.appIp, outboundPort: l.outboundPort }));
      expect(cfg.listeners.map((x) => `${x.address}:${x.port}`).sort()).toEqual(
        [`${w.ip}:${l.outboundPort}`, `${w.ip}:${w.port}`].sort(),
      );
      expect(cfg.clusters.get(`inbound|${w.port}||`)?.endpoints.map((e) => e.address)).toEqual([w.appIp]);
    }
    const gw = translate(model, parseNodeId(gatewayNodeId(l)));
    const cfg = compile(localShape(gw, { ip: l.gateway.ip }));
    expect(cfg.listeners.map((x) => `${x.address}:${x.port}`)).toEqual([`127.0.0.1:${l.gateway.port}`]);
    expect(cfg.clusters.get("outbound|9080||productpage")?.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual([
      "127.0.10.11:9080",
    ]);
  });
});
