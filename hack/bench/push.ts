// bench:push — discovery (a child process) plus N lightweight simulated ADS clients over a mesh of S services.
// Changes one VirtualService, then prints the time until every proxy has the push and has ACKed it (p50, p99),
// discovery's CPU seconds per push and its RSS. Usage: npm run bench:push -- --proxies 1000 --services 200
// [--sidecar [--namespaces 50] [--imports 5]]: the proxies spread over namespaces, each namespace with a Sidecar
// importing `imports` services (svc-0, the one changed, and others), as Istio's Sidecar scoping is meant to be used.
// The simulated proxies speak incremental xDS, as agents do; --sotw makes them speak state of the world.
import { commandLine } from "../../operator/api/contract.js";
import { discoveryRole } from "../../operator/api/roles.js";
import { DISCOVERY_PROCESS_ENV } from "../../operator/api/process-env.js";
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { adsChannel } from "../../proxy/xds/client.js";
import { TYPE } from "../../proxy/xds/types.js";
import { freePort } from "../paths.js";
import { LeanProxy } from "./lean-ads.js";
import { SimProxy, cpuSeconds, percentile, rssMiB, waitFor, type Names } from "./sim-proxy.js";

const { values } = parseArgs({
  options: {
    proxies: { type: "string", default: "1000" },
    services: { type: "string", default: "200" },
    changes: { type: "string", default: "3" },
    sidecar: { type: "boolean", default: false },
    namespaces: { type: "string", default: "50" },
    imports: { type: "string", default: "5" },
    sotw: { type: "boolean", default: false },
    "xds-port": { type: "string" },
    "monitoring-port": { type: "string" },
  },
});
const PROXIES = Number(values.proxies);
const SERVICES = Number(values.services);
const CHANGES = Number(values.changes);
const SIDECAR = values.sidecar;
const NAMESPACES = SIDECAR ? Math.max(1, Number(values.namespaces)) : 1;
const IMPORTS = Math.max(1, Math.min(SERVICES, Number(values.imports)));
const XDS = Number(values["xds-port"] ?? (await freePort()));
const MON = Number(values["monitoring-port"] ?? (await freePort()));

/** Proxy i's namespace: `bench`, or with --sidecar one of `ns-<k>`. */
const namespaceOf = (i: number): string => (SIDECAR ? `ns-${i % NAMESPACES}` : "bench");
const nodeId = (i: number): string => {
  const ns = namespaceOf(i);
  return `sidecar~10.3.${i >> 8}.${i & 255}~client-${i}.${ns}~${ns}.svc.cluster.local`;
};

/** The services namespace k imports: svc-0 (the one each change edits) and the next IMPORTS - 1 after k's share. */
function imported(k: number): number[] {
  const out = [0];
  for (let j = 0; out.length < IMPORTS; j++) {
    const i = 1 + ((k * (IMPORTS - 1) + j) % Math.max(1, SERVICES - 1));
    if (!out.includes(i)) out.push(i);
  }
  return out;
}

function sidecarYaml(k: number): string {
  const hosts = imported(k).map((i) => `"*/svc-${i}.bench.local"`);
  return `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: ns-${k} }
spec:
  egress: [{ hosts: [${hosts.join(", ")}] }]
---
`;
}

/** What a proxy of namespace k subscribes to: its imported services' clusters (and subsets), and route "80". */
const scopedNames = (k: number): Names => ({
  eds: imported(k).flatMap((i) => ["", "v1", "v2"].map((s) => `outbound|80|${s}|svc-${i}.bench.local`)),
  rds: ["80"],
});

function serviceYaml(i: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc-${i} }
spec:
  hosts: [svc-${i}.bench.local]
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: 8080 }]
  resolution: STATIC
  endpoints:
  - { address: 127.1.${i >> 8}.${i & 255}, labels: { version: v1 } }
  - { address: 127.2.${i >> 8}.${i & 255}, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc-${i} }
spec:
  host: svc-${i}.bench.local
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
`;
}

function virtualService(i: number, v1: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc-${i} }
spec:
  hosts: [svc-${i}.bench.local]
  http:
  - route:
    - { destination: { host: svc-${i}.bench.local, subset: v1 }, weight: ${v1} }
    - { destination: { host: svc-${i}.bench.local, subset: v2 }, weight: ${100 - v1} }
`;
}

/** When discovery started pushing config version `version`, from its log. */
async function pushStart(logFile: string, version: number): Promise<number> {
  for (const line of (await readFile(logFile, "utf8")).split("\n")) {
    if (!line.includes('"config pushed"')) continue;
    const entry = JSON.parse(line) as { version?: string; startedAt?: number };
    if (entry.version === String(version)) return entry.startedAt ?? NaN;
  }
  return NaN;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "weft-bench-"));
  await writeFile(path.join(dir, "services.yaml"), Array.from({ length: SERVICES }, (_, i) => serviceYaml(i)).join(""));
  for (let i = 0; i < SERVICES; i++) await writeFile(path.join(dir, `vs-${i}.yaml`), virtualService(i, 90));
  if (SIDECAR)
    await writeFile(
      path.join(dir, "sidecars.yaml"),
      Array.from({ length: NAMESPACES }, (_, k) => sidecarYaml(k)).join(""),
    );
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../operator/cli/main.js");
  // WEFT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles discovery.
  const nodeArgs = (process.env["WEFT_BENCH_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      main,
      ...commandLine(discoveryRole, {
        "config-dir": dir,
        address: "127.0.0.1",
        "xds-port": XDS,
        "monitoring-port": MON,
      }),
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...DISCOVERY_PROCESS_ENV },
    },
  );
  const pid = child.pid ?? 0;
  // Discovery's log, for a look at where the time goes.
  const logFile = path.join(tmpdir(), "weft-bench-discovery.log");
  child.stdout?.pipe(createWriteStream(logFile));
  const summary = async (): Promise<{ connected: number; synced: number; versions: Record<string, number> }> =>
    (await (await fetch(`http://127.0.0.1:${MON}/debug/summary`)).json()) as {
      connected: number;
      synced: number;
      versions: Record<string, number>;
    };
  try {
    await waitFor(
      "discovery",
      async () => (await fetch(`http://127.0.0.1:${MON}/ready`).catch(() => undefined))?.ok === true,
      20_000,
    );
    // Large HTTP/2 windows, as Envoy has (its default stream window is 256 MiB): no stall mid-message.
    const options = { maxMessageBytes: 64 << 20, windowBytes: 16 << 20 };
    const connectStart = performance.now();
    // Without Sidecars every proxy subscribes to what the first one learnt; with them, to its namespace's imports.
    let names: Names | undefined;
    const namesOf = (i: number): Names | undefined => (SIDECAR ? scopedNames(i % NAMESPACES) : names);
    const full = adsChannel(`127.0.0.1:${XDS}`, options);
    const first = new SimProxy(full, nodeId(0), (n) => (names ??= n));
    first.start();
    await waitFor("the first proxy", () => first.synced && names !== undefined, 20_000);
    const proxies: (SimProxy | LeanProxy)[] = [first];
    for (let i = 1; i < PROXIES; i++) {
      const scoped = namesOf(i);
      if (!scoped) throw new Error("no names");
      const p = new LeanProxy(`127.0.0.1:${XDS}`, nodeId(i), scoped, undefined, !values.sotw);
      p.start();
      proxies.push(p);
    }
    await waitFor("every proxy synced", async () => (await summary()).synced === PROXIES, 120_000, 200);
    const connectMs = performance.now() - connectStart;
    process.stdout.write(
      `mesh: ${SERVICES} services, ${PROXIES} proxies${SIDECAR ? ` in ${NAMESPACES} namespaces, each with a Sidecar importing ${IMPORTS} services` : ""}, ${names?.eds.length ?? 0} EDS clusters (the first proxy's); all connected and synced in ${(connectMs / 1000).toFixed(1)} s; discovery RSS ${(await rssMiB(pid)).toFixed(0)} MiB\n`,
    );
    const rows: string[] = [];
    for (let c = 1; c <= CHANGES; c++) {
      const before = await summary();
      const version = Object.keys(before.versions)[0] ?? "";
      const cpu0 = await cpuSeconds(pid);
      const t0 = Date.now();
      await writeFile(path.join(dir, "vs-0.yaml"), virtualService(0, 90 - c * 10));
      await waitFor(
        "every proxy's route push",
        () => proxies.every((p) => (p.lastAt.get(TYPE.route) ?? 0) > t0),
        60_000,
      );
      await waitFor(
        "every ACK",
        async () => {
          const s = await summary();
          return s.synced === PROXIES && s.versions[version] === undefined;
        },
        60_000,
        50,
      );
      const allAcked = Date.now() - t0;
      const pushedAt = await pushStart(logFile, c + 1);
      const cpu = (await cpuSeconds(pid)) - cpu0;
      const received = proxies.map((p) => p.lastAt.get(TYPE.route) ?? 0).sort((a, b) => a - b);
      const lat = received.map((t) => t - t0);
      const afterPush = received.map((t) => t - pushedAt);
      rows.push(
        `change ${c}: from the file write, push received p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms; ` +
          `from the push's start (after the debounces), p50 ${percentile(afterPush, 50).toFixed(0)} ms, p99 ${percentile(afterPush, 99).toFixed(0)} ms; ` +
          `all ACKs confirmed by discovery within ${allAcked.toFixed(0)} ms (polled every 50 ms); discovery CPU ${cpu.toFixed(2)} s; RSS ${(await rssMiB(pid)).toFixed(0)} MiB`,
      );
      process.stdout.write(`${rows[rows.length - 1]}\n`);
    }
    const memz = await (await fetch(`http://127.0.0.1:${MON}/debug/memz`)).text();
    process.stdout.write(`discovery memory: ${memz.replace(/\s+/g, " ")}\n`);
    process.stdout.write(
      "from the file write includes the push debounce (100 ms from the folder watch seeing the write; its own 20 ms and reading the folder fall inside it)\n",
    );
    for (const p of proxies) p.close();
    full.close();
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:push: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
