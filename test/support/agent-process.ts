// A `weft proxy` agent over xDS as its own process, for tests that load it (a test process that hosted the agent
// would also be accepting its connections).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { REPO_ROOT, freePorts } from "../../hack/paths.js";

export interface AgentProcessOptions {
  discoveryAddress: string;
  /** `sidecar~<loopback ip>~<pod>.<ns>~<ns>.svc.cluster.local`: it binds on that IP. */
  nodeId: string;
  binaryPath: string;
  engineVersion: string;
  enginesDir: string;
  /** More flags, such as --engine-wait 1s. */
  args?: string[];
  /** More env (the injected pod's, such as SECRET_TTL). */
  env?: Record<string, string>;
  /** Each line of its stderr (else stderr is the test's). */
  onLog?: (line: string) => void;
}

export class AgentProcess {
  readonly exited: Promise<number | null>;
  private constructor(
    readonly proc: ChildProcess,
    readonly ip: string,
    readonly statsPort: number,
    /** Its admin port (/config_dump), on ip. */
    readonly adminPort: number,
    /** Its readiness port (/healthz/ready), on ip. */
    readonly readyPort: number,
  ) {
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  }

  static async start(o: AgentProcessOptions): Promise<AgentProcess> {
    const ip = o.nodeId.split("~")[1] ?? "127.0.0.1";
    // On the agent's own address (another sidecar's may hold a port there), three different ones.
    const [admin, stats, ready] = (await freePorts(3, ip)) as [number, number, number];
    const proc = spawn(
      process.execPath,
      [
        `${REPO_ROOT}/dist/operator/cli/main.js`,
        "proxy",
        ...["--discovery-address", o.discoveryAddress, "--node-id", o.nodeId, "--admin-address", ip],
        ...["--admin-port", `${admin}`, "--stats-port", `${stats}`, "--ready-port", `${ready}`],
        ...["--binary-path", o.binaryPath, "--engine-version", o.engineVersion, "--engines-dir", o.enginesDir],
        ...(o.args ?? []),
      ],
      { stdio: ["ignore", "ignore", o.onLog ? "pipe" : "inherit"], env: { ...process.env, ...o.env } },
    );
    const onLog = o.onLog;
    if (onLog) createInterface({ input: proc.stderr! }).on("line", onLog);
    return new AgentProcess(proc, ip, stats, admin, ready);
  }

  /** GET /healthz/ready: its status and body. */
  async readiness(): Promise<{ status: number; body: string }> {
    const r = await fetch(`http://${this.ip}:${this.readyPort}/healthz/ready`);
    return { status: r.status, body: await r.text() };
  }

  async prometheus(): Promise<string> {
    return (await fetch(`http://${this.ip}:${this.statsPort}/stats/prometheus`)).text();
  }

  stop(): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
    return this.exited;
  }
}
