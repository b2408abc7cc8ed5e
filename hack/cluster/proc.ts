// Starting and stopping the cluster's daemons as detached processes with pid files. A
// pid is trusted only if /proc says its command line mentions our state directory, so a
// recycled pid is never killed by mistake.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { spawn } from "node:child_process";
import { STATE_DIR, path } from "./layout.js";

export interface Daemon {
  name: string;
  bin: string;
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

const ours = (pid: number) => cmdline(pid)?.includes(STATE_DIR) ?? false;
const pidFile = (name: string) => path("run", `${name}.pid`);
export const logFile = (name: string) => path("logs", `${name}.log`);

export function runningPid(name: string): number | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  const pid = Number(readFileSync(pidFile(name), "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && ours(pid) ? pid : undefined;
}

/** How the daemons this process started have exited, by pid (while this process runs: `up` waits on them). */
const exits = new Map<number, string>();

/** "code 1" or "signal SIGKILL" if the daemon `name` (the one its pid file names) has exited. */
export function exitOf(name: string): string | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  return exits.get(Number(readFileSync(pidFile(name), "utf8").trim()));
}

export function start(d: Daemon): number {
  mkdirSync(path("run"), { recursive: true });
  mkdirSync(path("logs"), { recursive: true });
  const log = openSync(logFile(d.name), "a");
  // Each start says so in the log, so a second run's lines (or its silence) can't pass for the first's.
  writeSync(log, `--- ${new Date().toISOString()} starting ${d.name}\n`);
  const child = spawn(d.bin, d.args, {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, ...d.env },
  });
  closeSync(log);
  const pid = child.pid;
  if (pid) child.on("exit", (code, sig) => exits.set(pid, sig ? `signal ${sig}` : `code ${code}`));
  child.unref();
  if (!child.pid) throw new Error(`could not start ${d.name} (${d.bin})`);
  writeFileSync(pidFile(d.name), `${child.pid}\n`);
  return child.pid;
}

/** Every live process named one of `names` (its /proc comm), whoever started it. */
export function pidsNamed(names: string[]): number[] {
  return processes().filter((pid) => {
    try {
      return names.includes(readFileSync(`/proc/${pid}/comm`, "utf8").trim());
    } catch {
      return false; // gone
    }
  });
}

const processes = (): number[] =>
  readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map(Number);

/** Every live process whose command line mentions the state directory, pid files or not. */
export function strayPids(): number[] {
  return processes().filter((pid) => pid !== process.pid && ours(pid));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return cmdline(pid) !== undefined && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after graceMs; resolves when every pid is gone. */
export async function stop(pids: number[], graceMs = 10_000): Promise<void> {
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) signal(pid, "SIGKILL");
  while (pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function clearPidFile(name: string): void {
  rmSync(pidFile(name), { force: true });
}
