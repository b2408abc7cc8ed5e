// The npm package as a user gets it: `npm pack` holds no test and nothing from test/, and the tarball installs
// into an empty folder and runs `weft version`. Packs the built dist/ (`npm run test:e2e` builds first).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../hack/paths.js";

const run = promisify(execFile);
const npm = (args: string[], cwd: string) => run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, maxBuffer: 64 << 20 });
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { name: string; version: string };

describe("the npm package", () => {
  beforeAll(() => {
    if (!existsSync(path.join(REPO_ROOT, "dist/operator/cli/main.js"))) throw new Error("dist/ is missing: run `npm run build` first");
  });

  it("lists no test file, no test support and nothing from test/", async () => {
    const { stdout } = await npm(["pack", "--dry-run", "--json"], REPO_ROOT);
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain("dist/operator/cli/main.js");
    const offending = files.filter(
      (f) => /\.test\.(js|ts|d\.ts)(\.map)?$/.test(f) || /^(dist\/)?test\//.test(f) || /\/(testing|e2e)\//.test(f) || /fixtures\//.test(f),
    );
    expect(offending).toEqual([]);
  }, 60_000);

  it("installs from its tarball into an empty folder and runs `weft version`", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "weft-pack-"));
    try {
      const { stdout } = await npm(["pack", "--pack-destination", dir], REPO_ROOT);
      const tarball = path.join(dir, stdout.trim().split("\n").pop() ?? "");
      const app = path.join(dir, "app");
      mkdirSync(app);
      await npm(["install", "--prefix", app, "--prefer-offline", "--omit=dev", tarball], dir);
      const weft = await run(path.join(app, "node_modules/.bin/weft"), ["version"], { cwd: app });
      expect(weft.stdout.trim()).toBe(`weft ${pkg.version}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
