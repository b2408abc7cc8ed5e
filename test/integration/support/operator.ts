// Runs `weft operator` as a real process against the process cluster, and reads what it
// says on its log and its /metrics endpoint.
import { spawn, type ChildProcess } from "node:child_process";
import { REPO_ROOT, freePort } from "../../../hack/paths.js";
import type { MeshInstallation } from "../../../operator/api/types.js";
import { kube, kubectl } from "./kubectl.js";
import { LogLines, type LogLine } from "./log-lines.js";
import { watchMesh, type ObjectWatch } from "./mesh.js";

export { freePort } from "../../../hack/paths.js";

export class OperatorProcess {
  private readonly log: LogLines;
  readonly exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    readonly metricsPort: number,
    readonly identity: string,
  ) {
    this.log = new LogLines(proc.stdout!, `operator ${identity}`);
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  }

  /** extraArgs come last, so they override the defaults (the last value of a flag wins). */
  static async start(
    identity: string,
    extraArgs: string[] = [],
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<OperatorProcess> {
    const metricsPort = await freePort();
    const healthPort = await freePort();
    const proc = spawn(
      process.execPath,
      [
        `${REPO_ROOT}/dist/operator/cli/main.js`,
        "operator",
        `--metrics-addr=127.0.0.1:${metricsPort}`,
        `--health-addr=127.0.0.1:${healthPort}`,
        "--leader-election-namespace=weft-operator",
        `--identity=${identity}`,
        ...extraArgs,
      ],
      { stdio: ["ignore", "pipe", "inherit"], env },
    );
    const op = new OperatorProcess(proc, metricsPort, identity);
    await op.waitForLog((l) => l.msg === "caches synced", 30_000);
    return op;
  }

  get lines(): LogLine[] {
    return this.log.lines;
  }

  /** Resolves with the first log line (past or future) that passes test. */
  waitForLog(test: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return this.log.waitFor(test, timeoutMs);
  }

  async metric(name: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    const text = await res.text();
    return text
      .split("\n")
      .filter((l) => l.startsWith(name + "{") || l.startsWith(name + " "))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  }

  reconciles(): Promise<number> {
    return this.metric("weft_operator_reconcile_total");
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/**
 * The usual suite fixture: an operator process and a watch on one mesh, started before
 * the suite and, after it, the mesh deleted (finalized by that operator) and both stopped.
 */
export function operatorAndMesh(identity: string, meshName: string, extraArgs: string[] = []) {
  const fixture = {} as { operator: OperatorProcess; mesh: ObjectWatch<MeshInstallation> };
  beforeAll(async () => {
    await kube(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: weft-operator\n");
    fixture.operator = await OperatorProcess.start(identity, extraArgs);
    fixture.mesh = await watchMesh(meshName);
  });
  afterAll(async () => {
    fixture.mesh?.stop();
    await kubectl(["delete", "mesh", meshName, "--ignore-not-found", "--timeout=30s"]);
    await fixture.operator?.stop();
  });
  return fixture;
}
