// The agent's side of a sidecar upgrade: told its desired engine (proxy/xds/engine.ts), it waits for the bits under
// the engines directory, hot-restarts onto them, and reports what it runs. The old engine keeps serving whenever the
// new one is missing, fails to start, isn't ready in time, or crash-loops (then the agent rolls back). A target that
// failed is not tried again until the target changes; a missing one is watched for, since the carrier may still bring it.
import { access, constants } from "node:fs/promises";
import { enginePath, sameTarget, targetText, type EngineReport, type EngineTarget } from "../xds/engine.js";

export interface Restarter {
  hotRestart(binaryPath: string): Promise<{ version: string }>;
  readonly engine: { version: string } | undefined;
}

export interface UpgradeOptions {
  enginesDir: string;
  /** What runs now: the engine the agent started with. */
  running: EngineTarget;
  /** How long a missing engine is waited for (Waiting) before it is reported Failed. Default 60 s. */
  waitMs?: number;
  /** How often a missing engine is looked for. Default 500 ms. */
  pollMs?: number;
  /** Every change of the report. */
  onReport(r: EngineReport): void;
  log(line: string): void;
}

const exists = (p: string): Promise<boolean> =>
  access(p, constants.R_OK).then(
    () => true,
    () => false,
  );

export class EngineUpgrader {
  private running: EngineTarget;
  /** What ran before the last hot restart: where a rollback goes back to. */
  private before: EngineTarget | undefined;
  private desired: EngineTarget | undefined;
  private failed: { target: EngineTarget; error: string; missing: boolean } | undefined;
  private waitingSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private last = "";

  constructor(
    private readonly agent: Restarter,
    private readonly o: UpgradeOptions,
  ) {
    this.running = o.running;
  }

  /** The engine the agent should run (undefined: whatever it runs). */
  desire(target: EngineTarget | undefined): void {
    if (target && this.desired && sameTarget(target, this.desired)) return;
    this.desired = target;
    if (this.failed && !sameTarget(this.failed.target, target)) this.failed = undefined;
    this.waitingSince = Date.now();
    this.step();
  }

  /** The agent rolled a crash-looping engine back: it runs the one before again, and the target failed. */
  rolledBack(error: string): void {
    if (!this.before) return;
    const target = this.running;
    this.running = this.before;
    this.before = undefined;
    this.failed = { target, error, missing: false };
    this.publish();
  }

  /** The engine changed under us (a crash, a respawn): say so. */
  refresh(): void {
    this.publish();
  }

  report(): EngineReport {
    const d = this.desired;
    const base = { ...this.running, engine: this.agent.engine?.version ?? "" };
    if (!d || sameTarget(d, this.running)) return { ...base, phase: "Running" };
    if (this.failed && sameTarget(this.failed.target, d))
      return { ...base, phase: "Failed", target: d, error: this.failed.error };
    return { ...base, phase: "Waiting", target: d };
  }

  private publish(): void {
    const r = this.report();
    const text = JSON.stringify(r);
    if (text === this.last) return;
    this.last = text;
    this.o.onReport(r);
  }

  private step(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.publish();
    if (this.busy || this.stopped) return;
    const d = this.desired;
    if (!d || sameTarget(d, this.running)) return;
    if (this.failed && sameTarget(this.failed.target, d) && !this.failed.missing) return;
    this.busy = true;
    void this.attempt(d).finally(() => {
      this.busy = false;
      if (this.desired && !sameTarget(this.desired, d))
        this.step(); // the target moved meanwhile
      else this.publish();
    });
  }

  private async attempt(d: EngineTarget): Promise<void> {
    const path = enginePath(this.o.enginesDir, d);
    if (!(await exists(path))) {
      if (!this.failed && Date.now() - this.waitingSince >= (this.o.waitMs ?? 60_000)) {
        this.failed = { target: d, error: `engine ${targetText(d)} is missing: no ${path}`, missing: true };
        this.o.log(`hot restart refused: ${this.failed.error}`);
      }
      if (!this.stopped) this.timer = setTimeout(() => this.step(), this.o.pollMs ?? 500);
      return;
    }
    try {
      const r = await this.agent.hotRestart(path);
      this.before = this.running;
      this.running = d;
      this.failed = undefined;
      this.o.log(`hot restart onto ${targetText(d)}: engine ${r.version} serving`);
    } catch (err) {
      this.failed = {
        target: d,
        error: `engine ${targetText(d)} refused: ${err instanceof Error ? err.message : String(err)}`,
        missing: false,
      };
      this.o.log(`hot restart refused, the old engine keeps serving: ${this.failed.error}`);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
