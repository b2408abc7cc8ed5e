// bench:scale — discovery against the process cluster at scale. Creates S Services of P bare pods on KWOK (one
// VirtualService and DestinationRule per 10 Services), runs `weft discovery` (Kubernetes mode) with C simulated ADS
// clients, and prints: the time to the first snapshot; RSS after sync and at rest; p50/p99 at all clients for a
// VirtualService change and for a +10-pod scale, each measured from the API server's write as a watch sees it;
// discovery's CPU per watch event; and one endpoint's readiness flapping 10×/s (CPU, and which types were sent).
// Then deletes it all. Needs `npm run cluster -- up --kwok-nodes N` with N × 1000 ≥ S × P + 10.
// Usage: npm run bench:scale -- --services 500 --pods 10 --proxies 200 [--changes 3] [--flap-seconds 30] [--keep]
// (--keep leaves the workload for the next run, which then only waits for it to be ready.) The simulated proxies speak
// incremental xDS, as agents do; --sotw makes them speak state of the world.
// WEFT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles discovery (written when it exits).
import { DISCOVERY_PROCESS_ENV } from "../../operator/api/process-env.js";
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import path from "node:path";
import { loadavg, tmpdir } from "node:os";
import { parseArgs } from "node:util";
import { KubeConfig, Watch } from "@kubernetes/client-node";
import type { DiscoveryResponse } from "../../proxy/xds/ads.js";
import { adsChannel, type AdsChannel } from "../../proxy/xds/client.js";
import { decodeResource } from "../../proxy/xds/codec.js";
import { TYPE } from "../../proxy/xds/types.js";
import { KUBECONFIG, REPO_ROOT } from "../cluster/layout.js";
import { MAIN, freePort } from "./common.js";
import { LeanProxy } from "./lean-ads.js";
import { SimProxy, cpuSeconds, percentile, rssMiB, waitFor, type Names } from "./sim-proxy.js";
import { NAMESPACE, Workload, flapSlice, host, virtualService } from "./scale-workload.js";

const { values } = parseArgs({
  options: {
    services: { type: "string", default: "500" },
    pods: { type: "string", default: "10" },
    proxies: { type: "string", default: "200" },
    changes: { type: "string", default: "3" },
    "flap-seconds": { type: "string", default: "30" },
    keep: { type: "boolean", default: false },
    sotw: { type: "boolean", default: false },
  },
});
const S = Number(values.services);
const P = Number(values.pods);
const C = Number(values.proxies);
const CHANGES = Number(values.changes);
const FLAP_S = Number(values["flap-seconds"]);

const load = (): string => `load ${loadavg()[0]?.toFixed(1)}`;
const say = (line: string): boolean => process.stdout.write(`${line}\n`);
const ms = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(0)} ms, p99 ${percentile(s, 99).toFixed(0)} ms (n=${s.length})`;
};

/** What the bench's own watches on the namespace have seen: ready endpoints per Service, and event counts. */
class ClusterView {
  readonly ready = new Map<string, Map<string, number>>(); // service → slice → ready addresses
  events = 0;
  vsEvents = 0;
  private readonly waiters: { check: () => boolean; resolve: (at: number) => void }[] = [];
  private readonly aborts: AbortController[] = [];
  private stopped = false;

  async start(kc: KubeConfig): Promise<void> {
    const w = new Watch(kc);
    // A watch the API server ends (they time out) is started again from the last version it saw.
    const on = async (path: string, handle: (type: string, o: Record<string, unknown>) => void): Promise<void> => {
      let rv: string | undefined;
      const run = async (): Promise<void> => {
        const abort = await w.watch(
          path,
          rv ? { resourceVersion: rv } : {},
          (type, o: Record<string, unknown>) => {
            rv = (o["metadata"] as { resourceVersion?: string } | undefined)?.resourceVersion ?? rv;
            this.events++;
            handle(type, o);
            const now = Date.now();
            for (const x of [...this.waiters])
              if (x.check()) {
                this.waiters.splice(this.waiters.indexOf(x), 1);
                x.resolve(now);
              }
          },
          () => {
            if (!this.stopped) setTimeout(() => void run(), 100);
          },
        );
        this.aborts.push(abort);
      };
      await run();
    };
    await Promise.all([
      on(`/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices`, (type, o) => {
        const meta = o["metadata"] as { name: string; labels?: Record<string, string> };
        const svc = meta.labels?.["kubernetes.io/service-name"] ?? "";
        const slices = this.ready.get(svc) ?? new Map<string, number>();
        this.ready.set(svc, slices);
        const eps = (o["endpoints"] ?? []) as { addresses: string[]; conditions?: { ready?: boolean } }[];
        if (type === "DELETED") slices.delete(meta.name);
        else slices.set(meta.name, eps.filter((e) => e.conditions?.ready !== false).length);
      }),
      on(`/api/v1/namespaces/${NAMESPACE}/pods`, () => undefined),
      on(`/apis/networking.istio.io/v1/namespaces/${NAMESPACE}/virtualservices`, () => this.vsEvents++),
    ]);
  }

  readyOf(svc: string): number {
    let n = 0;
    for (const c of this.ready.get(svc)?.values() ?? []) n += c;
    return n;
  }

  /** Resolves with the time a watch event made `check` true. */
  until(check: () => boolean): Promise<number> {
    return new Promise((resolve) => (check() ? resolve(Date.now()) : this.waiters.push({ check, resolve })));
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
  }
}

/**
 * Endpoints of one cluster in an EDS response, decoded once per nonce (responses are shared between clients).
 * Undefined for a headers-only client's response, which carries no resources: only the first client decodes.
 */
const edsCounts = new Map<string, Map<string, number>>();
function endpointsIn(r: DiscoveryResponse, cluster: string): number | undefined {
  let counts = edsCounts.get(r.nonce);
  if (!counts) {
    if (r.resources.length === 0) return undefined;
    counts = new Map();
    for (const a of r.resources) {
      const cla = decodeResource(a) as { cluster_name?: string; endpoints?: { lb_endpoints?: unknown[] }[] };
      counts.set(
        cla.cluster_name ?? "",
        (cla.endpoints ?? []).reduce((n, l) => n + (l.lb_endpoints?.length ?? 0), 0),
      );
    }
    edsCounts.set(r.nonce, counts);
  }
  return counts.get(cluster) ?? -1;
}

async function main(): Promise<void> {
  const kubeconfig = process.env["KUBECONFIG"] ?? KUBECONFIG;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  // The Istio CRDs, as the integration suites install them: the workload has VirtualServices and DestinationRules.
  const kubectl = (args: string[]): void =>
    void execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  kubectl(["apply", "--server-side", "--force-conflicts", "-f", path.join(REPO_ROOT, "crds")]);
  kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
  const workload = new Workload(kc);
  const view = new ClusterView();
  await view.start(kc);
  const children: ReturnType<typeof spawn>[] = [];
  const proxies: (SimProxy | LeanProxy)[] = [];
  const channels: AdsChannel[] = [];
  try {
    const t0 = Date.now();
    await workload.create(S, P, 10);
    const services = Array.from({ length: S }, (_, i) => `svc-${i}`);
    await waitFor(
      "every pod ready in its EndpointSlice",
      () => services.every((s) => view.readyOf(s) >= P),
      1_800_000,
      500,
    );
    say(
      `workload: ${S} Services × ${P} pods, ${Math.ceil(S / 10)} VirtualServices and DestinationRules, ready in ${((Date.now() - t0) / 1000).toFixed(0)} s (${load()})`,
    );

    const [xds, mon] = [await freePort(), await freePort()];
    const started = Date.now();
    // WEFT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles discovery.
    const nodeArgs = (process.env["WEFT_BENCH_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        MAIN,
        "discovery",
        "--kubeconfig",
        kubeconfig,
        "--namespace",
        NAMESPACE,
        "--address",
        "127.0.0.1",
        "--xds-port",
        String(xds),
        "--monitoring-port",
        String(mon),
        "--webhook-port=-1",
        "--secure-port=-1",
      ],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...DISCOVERY_PROCESS_ENV } },
    );
    children.push(child);
    const pid = child.pid ?? 0;
    const pushes: { version: number; started: number; at: number }[] = [];
    const log = createWriteStream(path.join(tmpdir(), "weft-bench-scale-discovery.log"));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      log.write(`${line}\n`);
      if (!line.includes('"config pushed"')) return;
      const e = JSON.parse(line) as { version?: string; startedAt?: number; ms?: number };
      pushes.push({ version: Number(e.version), started: e.startedAt ?? 0, at: (e.startedAt ?? 0) + (e.ms ?? 0) });
    });
    await waitFor("the first snapshot", () => pushes.length > 0, 120_000, 20);
    // Where the memory is: the V8 heap, and what lives outside it (buffers).
    const memz = async (): Promise<string> => {
      const m = (await (await fetch(`http://127.0.0.1:${mon}/debug/memz`)).json()) as Record<string, number>;
      return `heap used ${m["heapUsedMiB"]} of ${m["heapTotalMiB"]} MiB, array buffers ${m["arrayBuffersMiB"]} MiB`;
    };
    say(
      `first snapshot: ${(((pushes[0]?.at ?? 0) - started) / 1000).toFixed(1)} s after discovery started (${load()})`,
    );

    // The clients: one learns the names to subscribe to; the rest subscribe to them directly.
    const opts = { maxMessageBytes: 256 << 20, windowBytes: 16 << 20 };
    const first = adsChannel(`127.0.0.1:${xds}`, opts);
    channels.push(first);
    let names: Names | undefined;
    const watchers: ((p: number, r: DiscoveryResponse, at: number) => void)[] = [];
    const observe = (p: number) => (r: DiscoveryResponse, at: number) => watchers.forEach((w) => w(p, r, at));
    const id = (i: number) =>
      `sidecar~10.3.${i >> 8}.${i & 255}~client-${i}.${NAMESPACE}~${NAMESPACE}.svc.cluster.local`;
    proxies.push(new SimProxy(first, id(0), (n) => (names ??= n), undefined, observe(0)));
    proxies[0]?.start();
    await waitFor("the first client", () => (proxies[0]?.synced ?? false) && names !== undefined, 120_000);
    for (let i = 1; i < C; i++) {
      if (!names) throw new Error("no names");
      const p = new LeanProxy(`127.0.0.1:${xds}`, id(i), names, observe(i), !values.sotw);
      p.start();
      proxies.push(p);
    }
    await waitFor("every client synced", () => proxies.every((p) => p.synced), 600_000, 200);
    say(
      `clients: ${C} synced, ${names?.eds.length ?? 0} EDS clusters each; discovery RSS after sync ${(await rssMiB(pid)).toFixed(0)} MiB (${await memz()}) (${load()})`,
    );

    const quiet = async (): Promise<void> => {
      // The simulated clients stand for separate proxies but share this process's heap: the garbage of what they
      // received so far (the sync's first) is collected now, not in the middle of the change being measured.
      (globalThis as { gc?: () => void }).gc?.();
      let n = -1;
      await waitFor(
        "a quiet second",
        () => {
          const same = pushes.length === n;
          n = pushes.length;
          return same;
        },
        120_000,
        1500,
      );
    };
    // Each client's first response of `type` at or after the version where `ok` first held, after the mark. Most
    // clients decode headers only, so `ok` says undefined for theirs: the version is learnt from a client that
    // decodes. By version, not by nonce: an EDS response carries what changed since the last one a proxy ACKed, so
    // proxies that ACKed at different times get different responses (and nonces) for one version.
    const firstAt = (type: string, ok: (r: DiscoveryResponse) => boolean | undefined) => {
      const arrivals = new Map<number, [version: number, at: number][]>(); // client → responses, in order
      let from = Infinity; // the first version at which `ok` held
      const w = (p: number, r: DiscoveryResponse, t: number) => {
        if (r.type_url !== type) return;
        const seen = arrivals.get(p) ?? [];
        arrivals.set(p, seen);
        seen.push([Number(r.version_info), t]);
        if (ok(r)) from = Math.min(from, Number(r.version_info));
      };
      watchers.push(w);
      const at = (): Map<number, number> => {
        const out = new Map<number, number>();
        for (const [p, seen] of arrivals) {
          const first = seen.find(([v]) => v >= from);
          if (first) out.set(p, first[1]);
        }
        return out;
      };
      return { at, done: () => watchers.splice(watchers.indexOf(w), 1) };
    };

    const vsLat: number[] = [];
    const steps: string[] = [];
    for (let c = 1; c <= CHANGES; c++) {
      await quiet();
      const rv = view.vsEvents;
      const got = firstAt(TYPE.route, () => true);
      const written = view.until(() => view.vsEvents > rv);
      await workload.applier.apply(virtualService(0, 90 - c * 10));
      const at = await written;
      await waitFor("every client's new routes", () => got.at().size === C, 120_000, 20);
      got.done();
      const lat = [...got.at().values()].map((t) => t - at);
      vsLat.push(...lat);
      // Discovery logs the push once every stream has taken it, which can be after the clients have it.
      await waitFor("discovery's push log", () => pushes.some((p) => p.started >= at), 10_000, 20).catch(() => {});
      const push = pushes.find((p) => p.started >= at);
      steps.push(
        `discovery's push from +${(push?.started ?? NaN) - at} to +${(push?.at ?? NaN) - at} ms, ` +
          `clients from +${Math.min(...lat)} to +${Math.max(...lat)} ms (deciles ${[...lat]
            .sort((a, b) => a - b)
            .filter((_, k) => k % Math.ceil(lat.length / 10) === 0)
            .join(" ")})`,
      );
    }
    say(`VirtualService change → new RDS at all ${C} clients, from the API server's write: ${ms(vsLat)} (${load()})`);
    for (const [i, step] of steps.entries()) say(`  change ${i + 1}: ${step}`);

    await quiet();
    const cluster = `outbound|80||${host(1)}`;
    const cpu0 = await cpuSeconds(pid);
    const events0 = view.events;
    const got = firstAt(TYPE.endpoint, (r) => {
      const n = endpointsIn(r, cluster);
      return n === undefined ? undefined : n >= P + 10;
    });
    const scaled = Date.now();
    const ready = view.until(() => view.readyOf("svc-1") >= P + 10);
    await workload.scale(1, P, P + 10);
    const sliceAt = await ready;
    await waitFor("every client's new endpoints", () => got.at().size === C, 120_000, 20);
    got.done();
    await quiet();
    const cpu = (await cpuSeconds(pid)) - cpu0;
    const events = view.events - events0;
    say(
      `+10 pods → EDS with all ${P + 10} endpoints at all ${C} clients, from the EndpointSlice write that made them ready: ${ms([...got.at().values()].map((t) => t - sliceAt))}; the pods took ${sliceAt - scaled} ms from the scale to that write (${load()})`,
    );
    say(
      `discovery CPU: ${cpu.toFixed(2)} s over the scale's ${events} watch events (pods, slices): ${((cpu * 1000) / Math.max(1, events)).toFixed(1)} ms per event (${load()})`,
    );

    if (FLAP_S > 0) {
      await quiet();
      const before = proxies.map((p) => new Map(p.received));
      const f0 = await cpuSeconds(pid);
      const pushes0 = pushes.length;
      const end = Date.now() + FLAP_S * 1000;
      let writes = 0;
      // 100 ms apart on average, each gap drawn from 70–130 ms: at exactly 100 ms, discovery's one push a second
      // would see the same state every time (ten flips apart) and send nothing, which no real pod's flapping does.
      let next = Date.now();
      for (let i = 0; Date.now() < end; i++) {
        await workload.applier.apply(flapSlice(i % 2 === 1));
        writes++;
        next += 70 + Math.random() * 60;
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      }
      await quiet();
      const used = (await cpuSeconds(pid)) - f0;
      const sent = new Map<string, number>();
      proxies.forEach((p, i) => {
        for (const [t, n] of p.received) sent.set(t, (sent.get(t) ?? 0) + n - (before[i]?.get(t) ?? 0));
      });
      const by = [...sent]
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t.split(".").pop()} ${n}`)
        .join(", ");
      say(
        `one endpoint's readiness flapping 10×/s for ${FLAP_S} s: discovery CPU ${((100 * used) / FLAP_S).toFixed(1)}% of one core (${writes} writes, ${pushes.length - pushes0} pushes); responses at the clients: ${by || "none"} (${load()})`,
      );
    }
    await new Promise((r) => setTimeout(r, 10_000));
    say(`discovery RSS at rest (10 s later): ${(await rssMiB(pid)).toFixed(0)} MiB (${await memz()}) (${load()})`);
  } finally {
    for (const p of proxies) p.close();
    for (const ch of channels) ch.close();
    for (const c of children) {
      c.kill("SIGTERM");
      await new Promise((resolve) => c.once("exit", resolve));
    }
    view.stop();
    if (values.keep) {
      await workload.scale(1, P + 10, P);
      say(`workload kept in namespace ${NAMESPACE}`);
    } else {
      const t = Date.now();
      await workload.delete(900_000);
      say(`cleaned up in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:scale: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
