// Runs `weft discovery` as a local process against the process cluster (Kubernetes source), on 127.0.0.1.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../../../hack/cluster/layout.js";
import type { ProxySync } from "../../../operator/discovery/ads/tracker.js";
import { freePort, type LogLine } from "./operator.js";

export class DiscoveryProcess {
  readonly lines: LogLine[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    readonly xdsPort: number,
    readonly monitoringPort: number,
    readonly webhookPort: number,
  ) {
    createInterface({ input: proc.stdout! }).on("line", (text) => {
      try {
        this.lines.push(JSON.parse(text) as LogLine);
      } catch {
        // not a log line
      }
    });
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  }

  /** Starts discovery for one mesh and namespace; resolves once it serves (its first snapshot pushed). */
  static async start(namespace: string, mesh: string, extraArgs: string[] = []): Promise<DiscoveryProcess> {
    const [xds, monitoring, webhook] = [await freePort(), await freePort(), await freePort()];
    const args = [`--namespace=${namespace}`, `--mesh=${mesh}`, "--address=127.0.0.1", `--xds-port=${xds}`, `--monitoring-port=${monitoring}`, `--webhook-port=${webhook}`];
    const proc = spawn(process.execPath, [`${REPO_ROOT}/dist/operator/cli/main.js`, "discovery", ...args, ...extraArgs], { stdio: ["ignore", "pipe", "inherit"] });
    const d = new DiscoveryProcess(proc, xds, monitoring, webhook);
    const serving = new Promise<void>((resolve, reject) => {
      const rl = createInterface({ input: proc.stdout! });
      rl.on("line", (text) => {
        if (text.includes('"discovery serving a Kubernetes cluster"')) {
          rl.close();
          resolve();
        }
      });
      proc.once("exit", (code) => reject(new Error(`discovery exited (${code}) before serving`)));
    });
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("discovery did not serve in 30 s")), 30_000).unref());
    await Promise.race([serving, timer]);
    return d;
  }

  get xdsTarget(): string {
    return `127.0.0.1:${this.xdsPort}`;
  }

  async syncz(): Promise<Omit<ProxySync, "connection">[]> {
    const res = await fetch(`http://127.0.0.1:${this.monitoringPort}/debug/syncz`);
    return (await res.json()) as Omit<ProxySync, "connection">[];
  }

  async stop(): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
    return this.exited;
  }
}
