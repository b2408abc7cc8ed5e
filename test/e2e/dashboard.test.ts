// `weft dashboard` in a real browser: local-mode Bookinfo, the page from weftd's monitoring port in headless
// Chromium. Before traffic there are no calls; with traffic the graph shows Bookinfo's calls as the default routing
// sends them (reviews round robin over v1, v2, v3; only v2 and v3 call ratings) with a rate, and the figures move
// while the page stays open (server-sent events). A click on productpage shows its traffic and its proxy. The
// screenshot is stored at artifacts/dashboard.png (git-ignored; .ci/run lists it). Runs the built package.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot, startLocalMesh, type LocalMesh } from "../../hack/local/mesh.js";
import { get } from "../../hack/local/procs.js";
import { Browser } from "../support/cdp.js";

interface EdgeView {
  source: string;
  destination: string;
  rps: number;
  label: string;
}

const EDGES = `[...document.querySelectorAll("g.edge")].map((g) => ({
  source: g.dataset.source, destination: g.dataset.destination, rps: Number(g.dataset.rps),
  label: g.querySelector("text").textContent }))`;

describe("weft dashboard in headless Chromium (local-mode Bookinfo)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "weft-dashboard-"));
  const root = repoRoot();
  let mesh: LocalMesh;
  let browser: Browser;
  let traffic = true;

  /** Product pages through the gateway, two at a time, until stopped or n are done. */
  const pages = async (n: number): Promise<void> => {
    let left = n;
    const worker = async (): Promise<void> => {
      while (traffic && left-- > 0) expect((await get(`${mesh.gatewayUrl}/productpage`))?.status).toBe(200);
    };
    await Promise.all([worker(), worker()]);
  };

  beforeAll(async () => {
    mesh = await startLocalMesh({
      configDir: path.join(work, "config"),
      base: "127.0.90",
      appBase: "127.0.91",
      gatewayIp: "127.0.90.3",
    });
    browser = await Browser.launch();
  }, 180_000);

  afterAll(async () => {
    traffic = false;
    try {
      await browser?.close();
    } finally {
      await mesh?.stop(); // whatever the browser did: a mesh left running holds its ports for the next suite
      rmSync(work, { recursive: true, force: true });
    }
  }, 30_000);

  it("weft dashboard prints the page's URL", () => {
    const out = execFileSync(
      process.execPath,
      [
        path.join(root, "dist/operator/cli/main.js"),
        "dashboard",
        "--discovery-address",
        new URL(mesh.monitoringUrl).host,
      ],
      { encoding: "utf8", env: { ...process.env, DISPLAY: "" } },
    );
    expect(out).toBe(`${mesh.monitoringUrl}/dashboard\n`);
  });

  it("shows the workloads, no calls before traffic, then Bookinfo's calls with rates that move", async () => {
    await browser.goto(`${mesh.monitoringUrl}/dashboard`);
    const nodes = await browser.until<string[]>(
      `(() => { const n = [...document.querySelectorAll("g.node")].map((g) => g.dataset.id); return n.length >= 7 && n; })()`,
      "the workloads",
    );
    expect(nodes).toEqual(
      expect.arrayContaining([
        "default/productpage-v1",
        "default/details-v1",
        "default/reviews-v1",
        "default/reviews-v2",
        "default/reviews-v3",
        "default/ratings-v1",
        "default/istio-ingressgateway",
      ]),
    );
    expect(await browser.evaluate<EdgeView[]>(EDGES)).toEqual([]);

    const running = pages(400); // in the background while the page is watched
    const withRates = await browser.until<EdgeView[]>(
      `(() => { const e = ${EDGES}; return e.length >= 7 && e.every((x) => x.rps > 0) && e; })()`,
      "every call with a rate",
    );
    const pairs = withRates.map((e) => `${e.source} -> ${e.destination}`).sort();
    expect(pairs).toEqual([
      "default/istio-ingressgateway -> default/productpage-v1",
      "default/productpage-v1 -> default/details-v1",
      "default/productpage-v1 -> default/reviews-v1",
      "default/productpage-v1 -> default/reviews-v2",
      "default/productpage-v1 -> default/reviews-v3",
      "default/reviews-v2 -> default/ratings-v1",
      "default/reviews-v3 -> default/ratings-v1",
    ]); // reviews-v1 doesn't call ratings
    const details = withRates.find((e) => e.destination === "default/details-v1") as EdgeView;
    expect(details.label).toMatch(/^\d+\.\d\d rps · 100\.0% · p50 [\d.]+ ms p99 [\d.]+ ms$/);
    // Live: the same page, no reload, shows other figures as the traffic goes on.
    await browser.until(
      `${EDGES}.find((e) => e.destination === "default/details-v1" && e.label !== ${JSON.stringify(details.label)})`,
      "the figures change",
    );
    traffic = false;
    await running;
  }, 180_000);

  it("a click on productpage shows its inbound and outbound traffic and its proxy's sync state", async () => {
    await browser.evaluate(
      `document.querySelector('g.node[data-id="default/productpage-v1"]').dispatchEvent(new MouseEvent("click"))`,
    );
    const panel = await browser.until<{ inbound: string[]; outbound: string[]; proxy: string }>(
      `(() => { const d = document.getElementById("details"); const col = (c) => [...d.querySelectorAll("table." + c + " tr td:first-child")].map((t) => t.textContent);
        const p = d.querySelector("table.proxy"); return p && { inbound: col("inbound"), outbound: col("outbound"), proxy: p.textContent }; })()`,
      "productpage's details",
    );
    expect(panel.inbound).toEqual(["default/istio-ingressgateway"]);
    expect(panel.outbound.sort()).toEqual([
      "default/details-v1",
      "default/reviews-v1",
      "default/reviews-v2",
      "default/reviews-v3",
    ]);
    expect(panel.proxy).toContain("sidecar~127.0.90.11~productpage-v1.default");
    expect(panel.proxy).toMatch(/CDSSYNCED.*LDSSYNCED.*EDSSYNCED.*RDSSYNCED/);
    expect(panel.proxy).toContain("NACKsnone recently");

    const file = path.join(root, "artifacts", "dashboard.png");
    mkdirSync(path.dirname(file), { recursive: true });
    const png = await browser.screenshot();
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    writeFileSync(file, png);
    process.stdout.write(`dashboard screenshot: ${file}\n`);
  }, 60_000);
});
