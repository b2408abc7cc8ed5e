// KWOK runs the pods but not their containers: this plays the kubelet for one container, weft-proxy. For every
// running injected pod of a namespace it starts a real `weft proxy` agent process (node id naming that pod, a
// loopback IP of its own, the binaryPath from the pod's own args, engines from a local directory), and stops the
// agent when the pod goes. Pods are polled: a pod is an agent within a second or so.
import { AgentProcess } from "../../support/agent-process.js";
import { getJson } from "./kubectl.js";

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { containers: { name: string; args?: string[] }[] };
  status: { phase?: string };
}

export class Sidecars {
  readonly agents = new Map<string, AgentProcess>();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private busy = false;

  constructor(
    private readonly o: {
      namespace: string;
      discoveryAddress: string;
      enginesDir: string;
      engineVersion: string;
      ipBase: string;
      args?: string[];
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sync(), 500);
  }

  /** The loopback IPs of the running agents, in pod-name order. */
  ips(): string[] {
    return [...this.agents.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, a]) => a.ip);
  }

  private async sync(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const pods = (await getJson<{ items: Pod[] }>(["get", "pods", "-n", this.o.namespace])).items;
      const live = new Set<string>();
      for (const p of pods) {
        const proxy = p.spec.containers.find((c) => c.name === "weft-proxy");
        if (!proxy || p.metadata.deletionTimestamp || p.status.phase !== "Running") continue;
        live.add(p.metadata.name);
        if (this.agents.has(p.metadata.name)) continue;
        const args = proxy.args ?? [];
        const binaryPath = args[args.indexOf("--binary-path") + 1] ?? "";
        const ip = `${this.o.ipBase}.${11 + (this.next++ % 200)}`;
        const ns = this.o.namespace;
        this.agents.set(
          p.metadata.name,
          await AgentProcess.start({
            discoveryAddress: this.o.discoveryAddress,
            nodeId: `sidecar~${ip}~${p.metadata.name}.${ns}~${ns}.svc.cluster.local`,
            binaryPath,
            engineVersion: this.o.engineVersion,
            enginesDir: this.o.enginesDir,
            args: this.o.args,
          }),
        );
      }
      for (const [name, agent] of this.agents) {
        if (live.has(name)) continue;
        this.agents.delete(name);
        await agent.stop();
      }
    } catch {
      // the API server was busy: next round
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    this.agents.clear();
  }
}
