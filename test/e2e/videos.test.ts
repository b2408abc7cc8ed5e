// The videos demo (samples/videos) in local mode with FLAKY=true: videos-api fails every third request, so without
// retries some of 200 pages break; with the retry VirtualService (attempts 10, perTryTimeout 2s) none do, and the
// sidecars count the retries. The gateway splits pages 50/50 between videos-web v1 and v2. Runs the built package.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readWorkloads, repoRoot, startLocalMesh, type LocalMesh } from "../../hack/local/mesh.js";
import { get } from "../../hack/local/procs.js";
import { change } from "../support/local-mesh.js";

interface Run {
  failed: number;
  web: Record<string, number>;
}

async function pages(mesh: LocalMesh, n: number): Promise<Run> {
  const out: Run = { failed: 0, web: {} };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < n) {
      const r = await get(`${mesh.gatewayUrl}/`);
      if (r?.status !== 200 || !r.body.includes("<h1>Videos</h1>")) out.failed++;
      const v = /Served by (videos-web-v\d)/.exec(r?.body ?? "")?.[1] ?? "none";
      out.web[v] = (out.web[v] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

/** The sum of a counter over a sidecar's clusters whose name contains `cluster`. */
async function counter(mesh: LocalMesh, workload: string, cluster: string, stat: string): Promise<number> {
  const text = (await get(`${mesh.admin[workload]}/stats`))?.body ?? "";
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^cluster\.(.+)\.([a-z_]+): (\d+)$/.exec(line);
    if (m && m[2] === stat && (m[1] as string).includes(cluster)) sum += Number(m[3]);
  }
  return sum;
}

describe("the videos demo with FLAKY=true (local mode)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "weft-videos-"));
  const root = repoRoot();
  let mesh: LocalMesh;

  beforeAll(async () => {
    const flaky = process.env.FLAKY;
    process.env.FLAKY = "true"; // the apps inherit it
    try {
      mesh = await startLocalMesh({
        configDir: path.join(work, "config"),
        base: "127.0.76",
        appBase: "127.0.77",
        gatewayIp: "127.0.76.3",
        workloads: readWorkloads(path.join(root, "samples/videos/local/weft.local.yaml")),
      });
    } finally {
      if (flaky === undefined) delete process.env.FLAKY;
      else process.env.FLAKY = flaky;
    }
  }, 180_000);

  afterAll(async () => {
    await mesh?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it("without retries, some of 200 pages break; videos-web v1 and v2 share them about 50/50", async () => {
    const run = await pages(mesh, 200);
    expect(run.failed).toBeGreaterThan(0);
    expect(run.web["videos-web-v1"]).toBeGreaterThan(50);
    expect(run.web["videos-web-v2"]).toBeGreaterThan(50);
  }, 120_000);

  it("with the retry VirtualService, none of 200 pages break, and playlists-api's sidecar retried", async () => {
    const before = await counter(mesh, "playlists-api-v1", "videos-api", "upstream_rq_retry");
    await change(mesh, {
      "videos-api-retry.yaml": readFileSync(path.join(root, "samples/videos/networking/videos-api-retry.yaml"), "utf8"),
    });
    const run = await pages(mesh, 200);
    expect(run.failed).toBe(0);
    expect(await counter(mesh, "playlists-api-v1", "videos-api", "upstream_rq_retry")).toBeGreaterThan(before);
  }, 180_000);
});
