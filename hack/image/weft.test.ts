// The image's launcher (/usr/local/bin/weft), compiled as the image build does but with /bin/echo for node: the
// command line it runs, with and without $WEFT_NODE_FLAGS, and what it refuses.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launcherNodeFlags, PROXY_PROCESS_ENV } from "../../operator/api/process-env.js";
import { REPO_ROOT } from "../paths.js";

const bin = join(mkdtempSync(join(tmpdir(), "weft-launcher-")), "weft");
beforeAll(() => {
  execFileSync("gcc", [
    "-Wall",
    "-Werror",
    "-O2",
    '-DNODE_PATH="/bin/echo"',
    '-DCLI_PATH="main.js"',
    "-o",
    bin,
    join(REPO_ROOT, "hack/image/weft.c"),
  ]);
});

const run = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(bin, args, { env: { PATH: "/usr/bin:/bin", ...env }, encoding: "utf8" });

describe("the image's launcher", () => {
  it("runs node with the CLI and every argument", () => {
    expect(run({}, "proxy", "--agent").stdout).toBe("main.js proxy --agent\n");
  });

  it("puts the sidecar's node flags before the CLI, as local mode and the benches do", () => {
    const out = run({ ...PROXY_PROCESS_ENV }, "proxy").stdout;
    expect(out).toBe(`${[...launcherNodeFlags(PROXY_PROCESS_ENV), "main.js", "proxy"].join(" ")}\n`);
    expect(launcherNodeFlags(PROXY_PROCESS_ENV)).toContain("--lite-mode");
  });

  it.each([
    ["a script instead of a flag", "--lite-mode evil.js", /evil\.js: not a --flag/],
    ["too many flags", Array.from({ length: 17 }, (_, i) => `--f${i}`).join(" "), /more than 16 flags/],
  ])("refuses %s, running nothing", (_what, flags, message) => {
    const r = run({ WEFT_NODE_FLAGS: flags }, "proxy");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
  });
});
