// hack/load.ts as a child process, for tests: progress as it comes, and the final count.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../../hack/paths.js";

export interface LoadCount {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  done?: boolean;
}

export class LoadProcess {
  last: LoadCount = { ok: 0, failed: 0, errors: {} };
  private readonly proc: ChildProcess;
  private readonly finished: Promise<LoadCount>;
  private readonly waiters: { test: (c: LoadCount) => boolean; resolve: () => void }[] = [];

  constructor(targets: string[], o: { rate: number; host?: string; backend?: string }) {
    const args = [
      `${REPO_ROOT}/dist/hack/load.js`,
      "--rate",
      String(o.rate),
      ...(o.host ? ["--host", o.host] : []),
      ...(o.backend ? ["--backend", o.backend] : []),
      ...targets,
    ];
    this.proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    this.finished = new Promise((resolve) => {
      createInterface({ input: this.proc.stdout! }).on("line", (line) => {
        this.last = JSON.parse(line) as LoadCount;
        for (const w of [...this.waiters]) {
          if (!w.test(this.last)) continue;
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
        if (this.last.done) resolve(this.last);
      });
    });
  }

  /** Resolves once a progress line passes test. */
  until(test: (c: LoadCount) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test(this.last)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`load: never saw ${what} in ${timeoutMs} ms; last ${JSON.stringify(this.last)}`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  /** Stops sending, and resolves with the final count once what was in flight has finished. */
  stop(): Promise<LoadCount> {
    this.proc.kill("SIGTERM");
    return this.finished;
  }
}
