// The agent and its engine each run with their own Node flags: the agent with a sidecar's NODE_OPTIONS (a small young
// generation, one V8 helper thread: PROXY_PROCESS_ENV, as the injector and local mode set it), the engine with
// ENGINE_NODE_ARGS and never the agent's NODE_OPTIONS. Reads both processes' command lines and environments.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launcherNodeFlags, PROXY_PROCESS_ENV } from "../../operator/api/process-env.js";
import { bootstrap } from "../../hack/bench/common.js";
import { freePort, REPO_ROOT } from "../../hack/paths.js";
import { ENGINE_NODE_ARGS } from "../engine/reclaim.js";
import { backend, get } from "../../test/support/engine/helpers.js";

const CLI = `${REPO_ROOT}/dist/operator/cli/main.js`;
const nul = (pid: number, file: string) => readFileSync(`/proc/${pid}/${file}`, "utf8").split("\0").filter(Boolean);

describe("the sidecar's processes", () => {
  let agent: ChildProcess | undefined;
  afterAll(() => agent?.kill("SIGKILL"));

  it("runs the agent with PROXY_PROCESS_ENV's flags, and its engine with ENGINE_NODE_ARGS and without them", async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const b = await backend("b");
    const port = await freePort();
    const file = join(mkdtempSync(join(tmpdir(), "weft-env-")), "bootstrap.json");
    writeFileSync(file, JSON.stringify(bootstrap(port, b.port)));
    const flags = ["--admin-port", "0", "--stats-port", "0", "--ready-port", "0", "--agent"];
    // As the image's launcher (hack/image/weft.c) starts it: PROXY_PROCESS_ENV's launcher flags before the CLI.
    agent = spawn(
      process.execPath,
      [...launcherNodeFlags(PROXY_PROCESS_ENV), CLI, "proxy", "--bootstrap", file, ...flags],
      {
        env: { ...process.env, ...PROXY_PROCESS_ENV },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let log = "";
    await new Promise<void>((resolve, reject) => {
      agent!.once("exit", (code) => reject(new Error(`weft proxy exited ${code}: ${log}`)));
      const read = (d: Buffer) => ((log += d.toString()), log.includes("engine running") && resolve());
      agent!.stdout!.on("data", read);
      agent!.stderr!.on("data", read);
    });
    expect((await get(port, "/")).status).toBe(200);

    const agentPid = agent.pid as number;
    const [engine] = readFileSync(`/proc/${agentPid}/task/${agentPid}/children`, "utf8").trim().split(" ").map(Number);
    expect(nul(agentPid, "environ")).toContain(`NODE_OPTIONS=${PROXY_PROCESS_ENV.NODE_OPTIONS}`);
    expect(nul(agentPid, "cmdline")).toContain("--lite-mode");
    expect(nul(engine!, "environ").filter((e) => /^(NODE_OPTIONS|WEFT_NODE_FLAGS)=/.test(e))).toEqual([]);
    expect(nul(engine!, "cmdline")).not.toContain("--lite-mode");
    expect(ENGINE_NODE_ARGS).toEqual(["--max-semi-space-size=2", "--no-parallel-scavenge"]);
    expect(nul(engine!, "cmdline").slice(1, 3)).toEqual(["--max-semi-space-size=2", "--no-parallel-scavenge"]);
    await b.close();
  }, 30000);
});
