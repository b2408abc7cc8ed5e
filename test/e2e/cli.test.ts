// The day-two CLI against local mode (npm start's mesh): `weft proxy-status` and `weft proxy-config` through
// --discovery-address, `weft apply -f` / `weft delete -f` on the config folder (validated as the webhook does)
// (also against the process cluster, with a NACK: test/integration/cli.test.ts). Here a NACK comes as users meet one:
// a Gateway server on a port something else on the gateway's address holds.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { startLocalMesh, type LocalMesh } from "../../hack/local/mesh.js";
import { settled } from "../support/local-mesh.js";
import { weft } from "../support/weft-cli.js";

const cells = (line: string) => line.split(/\s{2,}/);

describe("weft proxy-status, proxy-config, apply and delete in local mode", () => {
  const work = mkdtempSync(path.join(tmpdir(), "weft-cli-"));
  let mesh: LocalMesh;
  let address: string;
  const file = (name: string, text: string) => {
    const p = path.join(work, name);
    writeFileSync(p, text);
    return p;
  };
  const configDir = () => ["--config-dir", mesh.configDir];

  beforeAll(async () => {
    mesh = await startLocalMesh({
      configDir: path.join(work, "config"),
      base: "127.0.174",
      appBase: "127.0.175",
      gatewayIp: "127.0.174.3",
    });
    address = new URL(mesh.monitoringUrl).host;
  }, 180_000);

  afterAll(async () => {
    await mesh?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it("proxy-status: every sidecar and the gateway, SYNCED, with its engine version", async () => {
    const r = await weft(["proxy-status", "--discovery-address", address]);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trim().split("\n").map(cells);
    expect(header).toEqual(["NAME", "CLUSTER", "CDS", "LDS", "EDS", "RDS", "ECDS", "ISTIOD", "VERSION"]);
    expect(rows.map((c) => c[0]).sort()).toEqual(
      [...mesh.layout.workloads.map((w) => `${w.app}-${w.version}.default`), "istio-ingressgateway.default"].sort(),
    );
    for (const c of rows) {
      expect(c[1]).toBe("local");
      expect(c.slice(2, 4)).toEqual(["SYNCED", "SYNCED"]); // CDS, LDS
      for (const s of c.slice(4, 6)) expect(["SYNCED", "NOT SENT"]).toContain(s); // EDS, RDS
      expect(c[8]).toMatch(/^\S+$/); // the engine's version ("dev" when run from the repo)
    }
  }, 60_000);

  it("proxy-config: clusters, listeners, routes and endpoints tables; -o json is the resources", async () => {
    const clusters = await weft(["proxy-config", "productpage-v1", "clusters", "--discovery-address", address]);
    expect(clusters.code).toBe(0);
    expect(cells(clusters.stdout.split("\n")[0]!)).toEqual(["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE"]);
    expect(clusters.stdout).toMatch(/^reviews\s+9080\s+-\s+outbound\s+EDS$/m);

    const listeners = await weft([
      "proxy-config",
      "productpage-v1.default",
      "listeners",
      "--discovery-address",
      address,
    ]);
    expect(cells(listeners.stdout.split("\n")[0]!)).toEqual(["ADDRESS", "PORT", "MATCH", "DESTINATION"]);
    const ip = mesh.layout.workloads.find((w) => w.app === "productpage")!.ip.replace(/\./g, "\\.");
    expect(listeners.stdout).toMatch(new RegExp(`^${ip}\\s+15001\\s+ALL\\s+Inline Route: outbound$`, "m"));

    const endpoints = await weft(["proxy-config", "productpage-v1", "endpoints", "--discovery-address", address]);
    const reviews = mesh.layout.workloads.find((w) => w.app === "reviews")!;
    expect(endpoints.stdout).toMatch(
      new RegExp(`^${reviews.ip.replace(/\./g, "\\.")}:9080\\s+HEALTHY\\s+OK\\s+outbound\\|9080\\|\\|reviews`, "m"),
    );

    const routes = await weft([
      "proxy-config",
      "productpage-v1",
      "routes",
      "-o",
      "json",
      "--discovery-address",
      address,
    ]);
    const parsed = JSON.parse(routes.stdout) as { name: string }[];
    expect(parsed.map((r) => r.name)).toContain("outbound");

    const missing = await weft(["proxy-config", "nope", "--discovery-address", address]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^weft proxy-config: no connected proxy nope \(connected: .*productpage-v1\.default/),
    ]);
  }, 60_000);

  it("apply: an invalid object is refused, one line per failure naming the field; nothing is written", async () => {
    const before = readdirSync(mesh.configDir).sort();
    const bad = file(
      "bad.yaml",
      `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: reviews }\nspec:\n  hosts: [reviews]\n  http:\n  - route: [{ destination: { host: reviews }, weight: 70 }, { destination: { host: ratings }, weight: 20 }]\n    retries: { attempts: 3, perTryTimeout: soon }\n`,
    );
    const r = await weft(["apply", "-f", bad, ...configDir()]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^weft apply: VirtualService default\/reviews: spec\.http\[0\]\.\S+/);
    expect(r.stderr).toContain("perTryTimeout");
    expect(r.stdout).toBe("");
    expect(readdirSync(mesh.configDir).sort()).toEqual(before);
  }, 60_000);

  it("apply then delete: the route reaches the proxy, then leaves the folder", async () => {
    const good = file(
      "reviews-timeout.yaml",
      `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: reviews }\nspec:\n  hosts: [reviews]\n  http:\n  - route: [{ destination: { host: reviews } }]\n    timeout: 7s\n`,
    );
    const applied = await weft(["apply", "-f", good, ...configDir()]);
    expect(applied).toMatchObject({ code: 0, stdout: "virtualservice.networking.istio.io/reviews created\n" });
    await settled(mesh);
    const routes = () =>
      weft(["proxy-config", "productpage-v1", "routes", "-o", "yaml", "--discovery-address", address]);
    expect((await routes()).stdout).toContain("timeout: 7s");
    expect((await weft(["apply", "-f", good, ...configDir()])).stdout).toBe(
      "virtualservice.networking.istio.io/reviews unchanged\n",
    );

    const deleted = await weft(["delete", "-f", good, ...configDir()]);
    expect(deleted).toMatchObject({ code: 0, stdout: "virtualservice.networking.istio.io/reviews deleted\n" });
    await settled(mesh);
    expect((await routes()).stdout).not.toContain("timeout: 7s");
    const again = await weft(["delete", "-f", good, ...configDir()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      "weft delete: virtualservice.networking.istio.io/reviews not found in the config folder\n",
    );
  }, 60_000);

  it("proxy-status: a proxy that can't take its config is NACKED with the error, and SYNCED again once it is fixed", async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: "127.0.174.3", port: 0 }, resolve));
    const port = (squatter.address() as { port: number }).port;
    const gateway = file(
      "busy-gateway.yaml",
      `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: { name: busy }\nspec:\n  selector: { istio: ingressgateway }\n  servers:\n  - port: { number: ${port}, name: http-busy, protocol: HTTP }\n    hosts: ["*"]\n`,
    );
    const gatewayRow = async () => {
      const r = await weft(["proxy-status", "--discovery-address", address]);
      return {
        r,
        row: r.stdout
          .split("\n")
          .map(cells)
          .find((c) => c[0] === "istio-ingressgateway.default"),
      };
    };
    try {
      expect((await weft(["apply", "-f", gateway, ...configDir()])).code).toBe(0);
      let seen = await gatewayRow();
      const deadline = Date.now() + 30_000;
      while (!seen.row?.includes("NACKED") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        seen = await gatewayRow();
      }
      expect(seen.row).toContain("NACKED");
      expect(seen.r.stdout).toMatch(
        new RegExp(`NACKED istio-ingressgateway\\.default [A-Z]DS: .*cannot listen on 127\\.0\\.174\\.3:${port}`),
      );
    } finally {
      squatter.close();
    }
    // The fix: the Gateway goes; the proxy takes the next push and is SYNCED on every type it was sent.
    expect((await weft(["delete", "-f", gateway, ...configDir()])).code).toBe(0);
    await settled(mesh);
    let after = await gatewayRow();
    const deadline = Date.now() + 30_000;
    while (after.row?.includes("NACKED") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      after = await gatewayRow();
    }
    expect(after.row?.slice(2, 6).filter((s) => s !== "SYNCED" && s !== "NOT SENT")).toEqual([]);
  }, 90_000);
});
