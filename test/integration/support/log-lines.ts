// A process's JSON log (pino), line by line: every line kept, and a wait for the first line (past or future) that
// matches, so a test awaits what a process says instead of sleeping.
import type { Readable } from "node:stream";
import { createInterface } from "node:readline";

export interface LogLine {
  msg: string;
  [k: string]: unknown;
}

export class LogLines {
  readonly lines: LogLine[] = [];
  private readonly waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(
    input: Readable,
    private readonly who: string,
  ) {
    createInterface({ input }).on("line", (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return; // not a log line
      }
      this.lines.push(line);
      for (const w of [...this.waiters]) {
        if (w.test(line)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
  }

  /** Resolves with the first log line (past or future) that passes test. */
  waitFor(test: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.who}: no matching log line in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}
