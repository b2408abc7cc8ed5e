// Child processes of the local mesh: started with their output in a log file each, stopped with SIGTERM and,
// after a grace period, SIGKILL, so none is left behind.
import { launcherNodeFlags } from "../../operator/api/process-env.js";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  log: string;
}

export class Procs {
  private readonly procs: Proc[] = [];

  constructor(private readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
  }

  /**
   * Runs `node script ...args` as the image's launcher runs the CLI (with the node flags `env` asks it for); its stdout
   * and stderr go to <logDir>/<name>.log.
   */
  start(name: string, script: string, args: string[], env: Readonly<Record<string, string>> = {}): Proc {
    return this.spawn(name, process.execPath, [...launcherNodeFlags(env), script, ...args], env);
  }

  /** Runs a command (no shell); its stdout and stderr go to <logDir>/<name>.log. */
  spawn(name: string, command: string, args: string[], env: Readonly<Record<string, string>> = {}): Proc {
    const log = path.join(this.logDir, `${name}.log`);
    const out = createWriteStream(log);
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WEFT_LOG_LEVEL: process.env.WEFT_LOG_LEVEL ?? "warn", ...env },
    });
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code) => (out.end(), resolve(code)));
      child.once("error", (err) => (out.end(`${name}: ${err.message}\n`), resolve(null))); // no such command
    });
    const proc = { name, child, exited, log };
    this.procs.push(proc);
    return proc;
  }

  /** Rejects if the process exits first. */
  async until<T>(proc: Proc, ready: Promise<T>): Promise<T> {
    const died = proc.exited.then((code) =>
      Promise.reject(new Error(`${proc.name} exited (${code}) before it was ready; see ${proc.log}`)),
    );
    return Promise.race([ready, died]);
  }

  running(): Proc[] {
    return this.procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  }

  /** SIGTERM to every process still running, SIGKILL to any still there after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(
      this.running().map(async (p) => {
        p.child.kill("SIGTERM");
        const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
        await p.exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** Polls `probe` every `everyMs` until it returns a value (bounded: `timeoutMs`). */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** GET a URL on loopback: status and body, or undefined when nothing answers. */
export async function get(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}
