// One engine child process, as the agent sees it: its epoch, binary, and a request/response view of its IPC.
import { fork, type ChildProcess } from "node:child_process";
import type { Resources } from "../engine/config/types.js";
import type { FromEngine, ToEngine } from "../engine/ipc.js";
import { ENGINE_NODE_ARGS, MALLOC_ENV } from "../engine/reclaim.js";
import type { ListenSocket, TcpHandle } from "./listen-socket.js";
import { SHARED_ENV } from "../engine/shared-counts.js";

export interface EngineEnv {
  drainMs: number;
  accessLog: boolean;
  nodeId?: string | undefined;
  /** The workers' shared circuit-breaker counts: the memory's fd and size, and this worker's column. */
  shared?: { fd: number; bytes: number; columns: number; column: number } | undefined;
}

export class EngineProcess {
  readonly child: ChildProcess;
  version = "";
  draining = false;
  /** Its Prometheus totals, sent once it drained, just before it exits. */
  finalStats: string | undefined;
  /** Called with finalStats when they arrive. */
  onFinal: ((text: string) => void) | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (m: FromEngine) => void>();
  private readonly started: Promise<void>;
  private onApplied: ((m: FromEngine) => void) | undefined;
  readonly exited: Promise<number | null>;

  constructor(
    readonly epoch: number,
    readonly binaryPath: string,
    env: EngineEnv,
  ) {
    this.child = fork(binaryPath, [], {
      execArgv: [...ENGINE_NODE_ARGS],
      // fd 4 (SHARED_FD): the shared counts' memory, when there is one
      stdio: ["ignore", "inherit", "inherit", "ipc", ...(env.shared ? [env.shared.fd] : [])],
      env: {
        ...MALLOC_ENV,
        ...withoutNodeOptions(process.env),
        WEFT_DRAIN_MS: String(env.drainMs),
        WEFT_ACCESS_LOG: env.accessLog ? "1" : "0",
        WEFT_EPOCH: String(epoch),
        ...(env.nodeId ? { WEFT_NODE_ID: env.nodeId } : {}),
        ...(env.shared
          ? {
              [SHARED_ENV.bytes]: String(env.shared.bytes),
              [SHARED_ENV.columns]: String(env.shared.columns),
              [SHARED_ENV.column]: String(env.shared.column),
            }
          : {}),
      },
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    this.started = new Promise((resolve, reject) => {
      this.child.once("exit", (code) => reject(new Error(`engine ${binaryPath} exited (${code}) before it started`)));
      this.child.on("message", (m: FromEngine) => {
        if (m.type === "started") {
          this.version = m.version;
          resolve();
        } else if (m.type === "applied" || m.type === "nack") this.onApplied?.(m);
        else if (m.type === "final") {
          this.finalStats = m.text;
          this.onFinal?.(m.text);
        } else this.waiting.get(m.id)?.(m);
      });
    });
    this.started.catch(() => undefined);
  }

  private send(m: ToEngine, handle?: TcpHandle): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) return reject(new Error(`engine epoch ${this.epoch} is gone`));
      // child_process sends a bare TCP handle as "net.Native"; its declared types only know Node's wrappers.
      this.child.send(m, handle as Parameters<ChildProcess["send"]>[1], (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Hands over the listening sockets, then the config; resolves once the engine serves it. */
  async boot(
    servers: ReadonlyMap<string, ListenSocket>,
    resources: Resources,
    slots?: Record<string, number>,
  ): Promise<void> {
    await this.started;
    for (const [name, server] of servers) await this.adopt(name, server);
    await this.apply(resources, slots);
  }

  /** Hands over one bound socket, which the engine listens on; the listener of that name in the next config uses it. */
  adopt(name: string, socket: ListenSocket): Promise<void> {
    return this.send({ type: "listener", name }, socket.handle);
  }

  apply(resources: Resources, slots?: Record<string, number>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onApplied = (m) => {
        this.onApplied = undefined;
        if (m.type === "nack") reject(new Error(m.error));
        else resolve();
      };
      void this.exited.then((code) => reject(new Error(`engine epoch ${this.epoch} exited (${code})`)));
      this.send({ type: "config", resources, ...(slots ? { slots } : {}) }).catch(reject);
    });
  }

  drain(): Promise<number | null> {
    this.draining = true;
    this.send({ type: "drain" }).catch(() => this.child.kill("SIGTERM"));
    return this.exited;
  }

  drainListeners(): void {
    this.send({ type: "drain_listeners" }).catch(() => undefined);
  }

  private ask<T>(m: (id: number) => ToEngine, pick: (r: FromEngine) => T): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error("engine did not answer"));
      }, 5000);
      this.waiting.set(id, (r: FromEngine) => {
        clearTimeout(t);
        this.waiting.delete(id);
        resolve(pick(r));
      });
      this.send(m(id)).catch(reject);
    });
  }

  prometheus(): Promise<string> {
    return this.ask(
      (id) => ({ type: "stats", id }),
      (r) => (r.type === "stats" ? r.text : ""),
    );
  }

  dump(): Promise<unknown> {
    return this.ask(
      (id) => ({ type: "dump", id }),
      (r) => (r.type === "dump" ? r.dump : undefined),
    );
  }
}

/**
 * The agent's environment without NODE_OPTIONS and WEFT_NODE_FLAGS: those are the agent's V8 flags
 * (PROXY_PROCESS_ENV), not the engine's.
 */
function withoutNodeOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _agentOnly, WEFT_NODE_FLAGS: _launcherOnly, ...rest } = env;
  return rest;
}
