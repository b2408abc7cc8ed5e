// The npm package as a user gets it: `npm pack` holds no test and nothing from test/, and the tarball installs
// into an empty folder and runs `weft version`. Packs the built dist/ (`npm run test:e2e` builds first).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../hack/paths.js";

const run = promisify(execFile);
const npm = (args: string[], cwd: string) =>
  run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, maxBuffer: 64 << 20 });
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(path.join(dir, e.name)) : e.name.endsWith(".js") ? [path.join(dir, e.name)] : [],
  );
}

/** The packages the shipped code imports (or resolves, as the protos' home), by name. */
function importedPackages(): Set<string> {
  const names = new Set<string>();
  for (const file of ["dist/operator", "dist/proxy"].flatMap((d) => jsFiles(path.join(REPO_ROOT, d)))) {
    const text = readFileSync(file, "utf8");
    // A package name has no whitespace: that keeps `x ? "from" : "to"` (the dashboard's script) from reading as one.
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|require(?:\.resolve)?\(\s*)"([^"./\s][^"\s]*)"/g)) {
      const spec = m[1] ?? "";
      if (spec.startsWith("node:") || builtinModules.includes(spec)) continue;
      names.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec));
    }
  }
  return names;
}

describe("the npm package", () => {
  beforeAll(() => {
    if (!existsSync(path.join(REPO_ROOT, "dist/operator/cli/main.js")))
      throw new Error("dist/ is missing: run `npm run build` first");
  });

  it("lists no test file, no test support and nothing from test/", async () => {
    const { stdout } = await npm(["pack", "--dry-run", "--json"], REPO_ROOT);
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain("dist/operator/cli/main.js");
    const offending = files.filter(
      (f) =>
        /\.test\.(js|ts|d\.ts)(\.map)?$/.test(f) ||
        /^(dist\/)?test\//.test(f) ||
        /\/(testing|e2e)\//.test(f) ||
        /fixtures\//.test(f),
    );
    expect(offending).toEqual([]);
  }, 60_000);

  it("declares exactly the packages its code imports as dependencies", () => {
    expect([...importedPackages()].sort()).toEqual(Object.keys(pkg.dependencies).sort());
  });

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
