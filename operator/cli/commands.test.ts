import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { REPO_ROOT } from "../../hack/paths.js";
import { commands, usage } from "./commands.js";

const MAIN = `${REPO_ROOT}/dist/operator/cli/main.js`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const weft = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { ...process.env, DISCOVERY_ADDRESS: "" } });

describe("weft usage", () => {
  it("lists every command with its summary", () => {
    const text = usage();
    for (const [name, c] of Object.entries(commands)) {
      expect(text).toMatch(new RegExp(`^  ${name} +${escape(c.role.summary)}$`, "m"));
    }
  });
});

describe("weft --help (the built binary)", () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  });

  it("weft --help lists the commands", () => {
    const r = weft("--help");
    expect(r.status).toBe(0);
    for (const name of Object.keys(commands)) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });

  it.each(Object.keys(commands))(
    "weft %s --help prints its summary, every flag with description, default and env, and an example",
    (name) => {
      const role = commands[name]!.role;
      for (const args of [
        [name, "--help"],
        ["help", name],
      ]) {
        const r = weft(...args);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^weft ${name}: ${escape(role.summary)}$`, "m"));
        for (const [flag, f] of Object.entries(role.flags)) {
          expect(r.stdout).toMatch(new RegExp(`^  --${flag}\\b`, "m"));
          expect(r.stdout).toContain(f.description);
          if (f.default !== undefined) expect(r.stdout).toContain(`default ${String(f.default)}`);
          if (f.env) expect(r.stdout).toContain(`env $${f.env}`);
        }
        expect(r.stdout).toMatch(new RegExp(`^Example:\\n  ${escape(role.example)}$`, "m"));
      }
    },
  );

  it("a bad command line prints one line naming the problem and exits 2", () => {
    for (const [args, message] of [
      [["proxy", "sidecar", "--binary-path", "/x"], "weft proxy: Unexpected argument 'sidecar'"],
      [["discovery", "--xds-port", "99999"], 'weft discovery: --xds-port: invalid value "99999"'],
      [["init", "--bogus"], "weft init: Unknown option '--bogus'"],
      [["proxy"], "weft proxy: --discovery-address (or $DISCOVERY_ADDRESS) or --bootstrap FILE is required"],
    ] as const) {
      const r = weft(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
  });
});
