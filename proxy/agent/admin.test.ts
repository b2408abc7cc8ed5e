// The agent's admin port: POST /hot_restart forks a program, so it is the admin port's most dangerous endpoint. A
// browser page (Origin), a rebinding name (Host), a GET, and any binary_path outside the engines directory are
// refused and run nothing; an engine inside the directory runs. Forks the built engine (dist/).
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "./agent.js";
import { adminAddressFor } from "./xds-main.js";
import { adminCall, HOSTILE } from "../engine/e2e/admin-client.js";
import { backend, cluster, resources } from "../../test/support/engine/helpers.js";

const BUILT = join(process.cwd(), "dist/proxy/engine/child.js");

describe("agent admin: hot restart", () => {
  beforeAll(() => {
    if (!existsSync(BUILT))
      throw new Error(`${BUILT} is missing: this suite runs the built engine; run \`npm run build\` first`);
  });

  it("runs only engines inside the engines directory, and only for a loopback, non-browser POST", async () => {
    const root = mkdtempSync(join(tmpdir(), "weft-engines-"));
    const engines = join(root, "engines");
    const outside = join(root, "elsewhere");
    mkdirSync(engines);
    mkdirSync(outside);
    const marker = join(root, "ran");
    // The attacker's program: it would leave a marker if it ever ran.
    const evil = join(outside, "evil.mjs");
    writeFileSync(evil, `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "x");\n`);
    symlinkSync(evil, join(engines, "link.mjs"));
    symlinkSync(outside, join(engines, "subdir"));
    writeFileSync(
      join(engines, "engine-c.mjs"),
      `process.env.WEFT_ENGINE_VERSION = "c";\nawait import(${JSON.stringify(BUILT)});\n`,
    );

    const b = await backend("b");
    const agent = new Agent({
      resources: resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
      binaryPath: BUILT,
      enginesDir: engines,
      adminPort: 0,
      statsPort: false,
      readyPort: false,
      drainMs: 200,
    });
    await agent.start();
    const port = agent.ports.admin;
    const restart = (p: string, method = "POST", headers: Record<string, string> = {}) =>
      adminCall(port, method, `/hot_restart?binary_path=${encodeURIComponent(p)}`, headers);
    try {
      for (const [what, method, headers, status] of HOSTILE) {
        const r = await restart(join(engines, "engine-c.mjs"), method, headers);
        expect([what, r.status]).toEqual([what, status]);
      }
      const refused: [string, RegExp][] = [
        [evil, /not inside the engines directory/],
        [`${engines}/../elsewhere/evil.mjs`, /'\.\.'/],
        ["../elsewhere/evil.mjs", /'\.\.'/],
        [join(engines, "link.mjs"), /not inside the engines directory/],
        ["subdir/evil.mjs", /not inside the engines directory/],
        [engines, /not inside the engines directory/],
        [join(engines, "missing.mjs"), /no such file/],
        ["/bin/sh", /not inside the engines directory/],
      ];
      for (const [p, why] of refused) {
        const r = await restart(p);
        expect([p, r.status]).toEqual([p, 403]);
        expect(r.body).toMatch(why);
      }
      expect(existsSync(marker)).toBe(false);
      expect(JSON.parse((await adminCall(port, "GET", "/config_dump")).body)).toMatchObject({
        epoch: 0,
        binary_path: BUILT,
      });

      // Inside the directory, by name or by path; and back to the binary the agent started with.
      const ok = await restart("engine-c.mjs");
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ epoch: 1, binaryPath: join(engines, "engine-c.mjs"), version: "c" });
      expect(JSON.parse((await restart(BUILT)).body)).toMatchObject({ epoch: 2, binaryPath: BUILT, version: "dev" });
      expect(existsSync(marker)).toBe(false);
    } finally {
      await agent.stop();
      await b.close();
    }
  }, 30_000);

  it("a missing engines directory allows only the binary the agent started with", async () => {
    const agent = new Agent({
      resources: { version: "" },
      binaryPath: BUILT,
      enginesDir: "/nonexistent/weft-engines",
      adminPort: 0,
      statsPort: false,
      readyPort: false,
      drainMs: 200,
    });
    await agent.start();
    try {
      const r = await adminCall(
        agent.ports.admin,
        "POST",
        `/hot_restart?binary_path=${encodeURIComponent("/tmp/x.mjs")}`,
      );
      expect(r).toEqual({
        status: 403,
        body: expect.stringMatching(/engines directory \/nonexistent\/weft-engines does not exist/),
      });
      expect((await adminCall(agent.ports.admin, "POST", "/hot_restart")).status).toBe(200);
    } finally {
      await agent.stop();
    }
  }, 30_000);

  it("in xDS mode the admin port binds loopback, never the pod IP in the node id", () => {
    expect(adminAddressFor("sidecar~10.244.0.7~reviews-v1-abc.default~default.svc.cluster.local")).toBe("127.0.0.1");
    expect(adminAddressFor("router~10.244.0.8~gw.istio-system~istio-system.svc.cluster.local")).toBe("127.0.0.1");
    expect(adminAddressFor("sidecar~127.0.10.13~reviews-v1.default~default.svc.cluster.local")).toBe("127.0.10.13"); // local mode
  });
});
