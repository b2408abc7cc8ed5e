// bench:scale's workload on the process cluster's KWOK nodes: S Services of P pods each, one VirtualService and
// DestinationRule per 10 Services, and a selector-less Service whose one endpoint bench:scale flaps. The pods are bare
// and already bound to a KWOK node (spread evenly), so neither the ReplicaSet controller nor the scheduler stands
// between the bench and the EndpointSlices discovery reads: on two cores, at 20,000 pods, those two took as much CPU
// as the API server and kept the workload from getting ready in 30 minutes. Created by server-side apply, a bounded
// number at a time, retried when the API server pushes back.
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { CoreV1Api } from "@kubernetes/client-node";
import { KWOK_NODE_PODS } from "../cluster/layout.js";
import { Applier } from "../../operator/runtime/apply.js";
import { errorMessage, isNotFound } from "../../operator/runtime/kube.js";

export const NAMESPACE = "weft-bench-scale";
const MANAGER = "weft-bench-scale";
const SUFFIX = `${NAMESPACE}.svc.cluster.local`;

export const host = (i: number): string => `svc-${i}.${SUFFIX}`;

/** Pod k of Service i, on `node`. */
function pod(i: number, k: number, node: string): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `svc-${i}-${k}`, namespace: NAMESPACE, labels: { app: `svc-${i}`, version: "v1" } },
    spec: {
      nodeName: node,
      containers: [
        { name: "app", image: "weft.dev/bench:never-pulled", ports: [{ name: "http", containerPort: 8080 }] },
      ],
    },
  } as KubernetesObject;
}

function service(i: number): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc-${i}`, namespace: NAMESPACE },
    spec: { selector: { app: `svc-${i}` }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  } as KubernetesObject;
}

export function virtualService(i: number, v1Weight: number): KubernetesObject {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: `svc-${i}`, namespace: NAMESPACE },
    spec: {
      hosts: [host(i)],
      http: [
        {
          route: [
            { destination: { host: host(i), subset: "v1" }, weight: v1Weight },
            { destination: { host: host(i), subset: "v2" }, weight: 100 - v1Weight },
          ],
        },
      ],
    },
  } as KubernetesObject;
}

function destinationRule(i: number): KubernetesObject {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: `svc-${i}`, namespace: NAMESPACE },
    spec: {
      host: host(i),
      subsets: [
        { name: "v1", labels: { version: "v1" } },
        { name: "v2", labels: { version: "v2" } },
      ],
    },
  } as KubernetesObject;
}

/** The flapping endpoint: a Service without a selector, and its one EndpointSlice, which bench:scale writes. */
export function flapSlice(ready: boolean): KubernetesObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "flap-1",
      namespace: NAMESPACE,
      labels: { "kubernetes.io/service-name": "flap", "endpointslice.kubernetes.io/managed-by": MANAGER },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: [{ addresses: ["10.245.0.1"], conditions: { ready } }],
  } as KubernetesObject;
}

const flapService = (): KubernetesObject =>
  ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "flap", namespace: NAMESPACE },
    spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  }) as KubernetesObject;

/** Runs `work` over `items`, `parallel` at a time, each retried (with a pause) up to 8 times. */
async function bounded<T>(items: T[], parallel: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      for (let attempt = 1; ; attempt++) {
        try {
          await work(item);
          break;
        } catch (err) {
          if (attempt >= 8) throw err;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export class Workload {
  readonly applier: Applier;
  private nodes: string[] = [];
  private pods = 0; // per Service, as created

  constructor(private readonly kc: KubeConfig) {
    this.applier = new Applier(kc, MANAGER);
  }

  /** Pod k of Service i always goes to the same node, so a second run (`--keep`) applies the same spec. */
  private pod(i: number, k: number): KubernetesObject {
    return pod(i, k, this.nodes[(i * this.pods + k) % this.nodes.length] as string);
  }

  /** Creates the workload; `headroom` more pods per Service must fit on the KWOK nodes for later scaling. */
  async create(services: number, pods: number, headroom: number): Promise<void> {
    const nodes = await this.kc.makeApiClient(CoreV1Api).listNode({ labelSelector: "type=kwok" });
    this.nodes = nodes.items.map((n) => n.metadata?.name ?? "").sort();
    this.pods = pods;
    const need = services * pods + headroom;
    if (need > this.nodes.length * KWOK_NODE_PODS)
      throw new Error(
        `${need} pods need ${Math.ceil(need / KWOK_NODE_PODS)} KWOK nodes of ${KWOK_NODE_PODS}, and the cluster has ` +
          `${this.nodes.length}: npm run cluster -- up --kwok-nodes ${Math.ceil(need / KWOK_NODE_PODS)}`,
      );
    await this.applier.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
    const config: KubernetesObject[] = [flapService(), flapSlice(true)];
    for (let i = 0; i < services; i++) {
      config.push(service(i));
      if (i % 10 === 0) config.push(destinationRule(i), virtualService(i, 90));
    }
    await bounded(config, 16, (o) => this.applier.apply(o));
    const all = Array.from({ length: services * pods }, (_, n) => this.pod(Math.floor(n / pods), n % pods));
    await bounded(all, 16, (o) => this.applier.apply(o));
  }

  /** Service i's pods from `from` up to `to` (exclusive): created when `to` is above `from`, deleted when below. */
  async scale(i: number, from: number, to: number): Promise<void> {
    const ks = Array.from({ length: Math.abs(to - from) }, (_, n) => Math.min(from, to) + n);
    await bounded(ks, 10, (k) =>
      to > from ? this.applier.apply(this.pod(i, k)) : this.applier.delete(this.pod(i, k)),
    );
  }

  /** Deletes the namespace and waits until it is gone (its pods first, by the namespace controller). */
  async delete(timeoutMs: number): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    try {
      await core.deleteNamespace({ name: NAMESPACE });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await core.readNamespace({ name: NAMESPACE });
      } catch (err) {
        if (isNotFound(err)) return;
        throw new Error(`reading namespace ${NAMESPACE}: ${errorMessage(err)}`);
      }
      if (Date.now() > deadline) throw new Error(`namespace ${NAMESPACE} still there after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
