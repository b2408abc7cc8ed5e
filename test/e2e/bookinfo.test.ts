// Bookinfo on the local mesh (the same code as `npm start`), driven through the ingress gateway: Istio's own
// routing files, each copied into the watched folder, take effect, with statistical assertions. Runs the built
// package: `npm run build` first (`npm run test:e2e` does).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { NETWORKING, repoRoot, startLocalMesh, type LocalMesh } from "../../hack/local/mesh.js";
import { get } from "../../hack/local/procs.js";
import { renderedDom } from "./browser.js";
import { change as applyFiles } from "../support/local-mesh.js";
import { shareDeviation } from "../support/share.js";

const root = repoRoot();
const built =
  existsSync(path.join(root, "dist/operator/cli/main.js")) &&
  existsSync(path.join(root, "dist/samples/bookinfo/apps/main.js"));

describe("Bookinfo on the local mesh, routed by Istio's networking files", () => {
  beforeAll(() => {
    if (!built) throw new Error("dist/ is missing: this suite runs the built mesh; run `npm run build` first");
  });
  const work = mkdtempSync(path.join(tmpdir(), "weft-e2e-"));
  let mesh: LocalMesh;

  /**
   * Copies Istio's files into the watched folder (and removes others) as `kubectl apply -f` / `kubectl delete -f`
   * would, then waits until every proxy ACKed the result. (It used to only add files: with one definition per
   * object, the first file's "reviews" would then keep winning.)
   */
  async function change(add: string[], remove: string[] = []): Promise<void> {
    const files: Record<string, string | null> = {};
    for (const f of add) files[f] = readFileSync(path.join(NETWORKING(root), f), "utf8");
    for (const f of remove) files[f] = null;
    await applyFiles(mesh, files);
  }

  /** `n` product pages (8 at a time): which reviews version served each, and how ratings fared. */
  async function pages(
    n: number,
    user?: string,
  ): Promise<{ versions: Record<string, number>; ratingsDown: number; failed: number }> {
    const out = { versions: {} as Record<string, number>, ratingsDown: 0, failed: 0 };
    const url = `${mesh.gatewayUrl}/productpage${user ? `?u=${user}` : ""}`;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next++ < n) {
        const r = await get(url);
        if (r?.status !== 200) {
          out.failed++;
          continue;
        }
        const v = /Reviews served by: <b>(reviews-v\d)</.exec(r.body)?.[1] ?? "none";
        out.versions[v] = (out.versions[v] ?? 0) + 1;
        if (r.body.includes("Ratings service is currently unavailable")) out.ratingsDown++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return out;
  }

  beforeAll(async () => {
    mesh = await startLocalMesh({
      configDir: path.join(work, "config"),
      base: "127.0.50",
      appBase: "127.0.51",
      gatewayIp: "127.0.50.3",
      networking: ["destination-rule-all.yaml"],
    });
  }, 60_000);

  afterAll(async () => {
    await mesh?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it("virtual-service-all-v1.yaml: every request is served by reviews-v1", async () => {
    await change(["virtual-service-all-v1.yaml"]);
    expect(await pages(100)).toEqual({ versions: { "reviews-v1": 100 }, ratingsDown: 0, failed: 0 });
  }, 60_000);

  it("virtual-service-reviews-50-v3.yaml: reviews-v1 and reviews-v3 share the traffic 50/50 (within 5σ over 400)", async () => {
    await change(["virtual-service-reviews-50-v3.yaml"]);
    const r = await pages(400);
    expect(r.failed).toBe(0);
    expect(Object.keys(r.versions).sort()).toEqual(["reviews-v1", "reviews-v3"]);
    expect(shareDeviation(r.versions["reviews-v1"] ?? 0, 400, 0.5)).toBeLessThanOrEqual(1);
  }, 60_000);

  it("virtual-service-reviews-test-v2.yaml: end-user jason sees reviews-v2, everyone else reviews-v1", async () => {
    await change(["virtual-service-reviews-test-v2.yaml"], ["virtual-service-reviews-50-v3.yaml"]);
    expect(await pages(50, "jason")).toEqual({ versions: { "reviews-v2": 50 }, ratingsDown: 0, failed: 0 });
    expect(await pages(50)).toEqual({ versions: { "reviews-v1": 50 }, ratingsDown: 0, failed: 0 });
  }, 60_000);

  it("virtual-service-ratings-test-abort.yaml: jason gets 'ratings unavailable', the others are unaffected", async () => {
    await change(["virtual-service-ratings-test-abort.yaml"]);
    expect(await pages(50, "jason")).toEqual({ versions: { "reviews-v2": 50 }, ratingsDown: 50, failed: 0 });
    expect(await pages(50)).toEqual({ versions: { "reviews-v1": 50 }, ratingsDown: 0, failed: 0 });
  }, 60_000);

  it("a real browser (headless Chromium) renders the product page through the gateway, routed as the files say", async () => {
    // Still in force: reviews-test-v2 (jason → v2) and ratings-test-abort (jason's ratings fail).
    const jason = await renderedDom(`${mesh.gatewayUrl}/productpage?u=jason`);
    expect(jason).toContain("<title>Simple Bookstore App</title>");
    expect(jason).toMatch(/Reviews served by: <b>reviews-v2<\/b>/);
    expect(jason).toContain("Ratings service is currently unavailable");
    const anyone = await renderedDom(`${mesh.gatewayUrl}/productpage`);
    expect(anyone).toMatch(/Reviews served by: <b>reviews-v1<\/b>/);
    expect(anyone).not.toContain("Ratings service is currently unavailable");
  }, 60_000);

  it("a Sidecar importing only reviews: productpage loses details, and still gets reviews", async () => {
    const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: productpage }
spec:
  workloadSelector: { labels: { app: productpage } }
  egress:
  - hosts: ["./reviews"]
`;
    const page = async (): Promise<string> => (await get(`${mesh.gatewayUrl}/productpage`))?.body ?? "";
    const DETAILS_DOWN = "product details are currently unavailable";
    expect(await page()).not.toContain(DETAILS_DOWN);
    await applyFiles(mesh, { "sidecar-productpage.yaml": sidecar });
    for (let i = 0; i < 10; i++) {
      const body = await page();
      expect(body).toContain(DETAILS_DOWN);
      expect(body).toMatch(/Reviews served by: <b>reviews-v1<\/b>/);
    }
    await applyFiles(mesh, { "sidecar-productpage.yaml": null });
    expect(await page()).not.toContain(DETAILS_DOWN);
  }, 60_000);
});
