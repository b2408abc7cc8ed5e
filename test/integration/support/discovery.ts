// Runs `weft discovery` as a local process against the process cluster (Kubernetes source), on 127.0.0.1.
import { spawn, type ChildProcess } from "node:child_process";
import { REPO_ROOT } from "../../../hack/cluster/layout.js";
import type { ProxySync } from "../../../operator/discovery/ads/tracker.js";
import { LogLines, type LogLine } from "./log-lines.js";
import { freePorts } from "../../../hack/paths.js";

export class DiscoveryProcess {
  private readonly log: LogLines;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    readonly xdsPort: number,
    readonly monitoringPort: number,
    readonly webhookPort: number,
    /** :15012 (the mesh CA and ADS over mTLS), when the mesh CA Secret is there. */
    readonly securePort: number,
  ) {
    this.log = new LogLines(proc.stdout!, "discovery");
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  }

  /** Starts discovery for one mesh and namespace; resolves once it serves (its first snapshot pushed). */
  static async start(namespace: string, mesh: string, extraArgs: string[] = []): Promise<DiscoveryProcess> {
    // Every port from the OS: discovery serves :15012 whenever the mesh CA Secret exists, and a fixed 15012 would
    // collide with any other discovery on this machine.
    const [xds, monitoring, webhook, secure] = (await freePorts(4)) as [number, number, number, number];
    const args = [
      `--namespace=${namespace}`,
      `--mesh=${mesh}`,
      "--address=127.0.0.1",
      `--xds-port=${xds}`,
      `--monitoring-port=${monitoring}`,
      `--webhook-port=${webhook}`,
      `--secure-port=${secure}`,
    ];
    const proc = spawn(
      process.execPath,
      [`${REPO_ROOT}/dist/operator/cli/main.js`, "discovery", ...args, ...extraArgs],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const d = new DiscoveryProcess(proc, xds, monitoring, webhook, secure);
    // One reader of stdout (LogLines): a second readline, once closed, would pause the stream for both.
    const exited = new Promise<never>((_, reject) =>
      proc.once("exit", (code) => reject(new Error(`discovery exited (${code}) before serving`))),
    );
    await Promise.race([d.waitForLog((l) => l.msg === "discovery serving a Kubernetes cluster", 30_000), exited]);
    return d;
  }

  get lines(): LogLine[] {
    return this.log.lines;
  }

  /** Resolves with the first log line (past or future) that passes test. */
  waitForLog(test: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return this.log.waitFor(test, timeoutMs);
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
