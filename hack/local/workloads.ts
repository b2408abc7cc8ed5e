// The workloads file of local mode (`weft.local.yaml`): the apps `npm start` runs, each with its own loopback IPs
// and sidecar, and the config files it seeds. Bookinfo is only the default file (samples/bookinfo/local/).
// Parsing is strict, as for Istio objects: an unknown field is an error naming it. Pure.
import { existsSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { checkShape, type Shape } from "../../operator/discovery/validate/shape.js";

export type AppProtocol = "HTTP" | "HTTP2" | "GRPC" | "TCP";
const PROTOCOLS: readonly AppProtocol[] = ["HTTP", "HTTP2", "GRPC", "TCP"];

export interface WorkloadSpec {
  /** The service name: the host other apps dial (`hello`, `hello:8080`), and label `app`. */
  name: string;
  /** Label `version`; one service may have several versions, each its own process and sidecar. */
  version: string;
  /** The command, as a list. `{ip}`, `{port}`, `{proxy}` (ip:port of its sidecar's outbound listener), `{sidecar}`
   * (its sidecar's IP) and `{root}` (the Weft package) are substituted; `node` is this Node.js. */
  command: string[];
  /** The service port: the app listens on {ip}:{port}, its sidecar takes inbound traffic on <sidecar IP>:{port}. */
  port: number;
  protocol: AppProtocol;
  /** More labels, besides app and version. */
  labels: Record<string, string>;
  /** How to install the command when it is missing (`apt-get install redis-server`): said instead of starting. */
  install?: string | undefined;
  /** Its ServiceAccount (namespace default): its SPIFFE identity, spiffe://cluster.local/ns/default/sa/<this>.
   * Default: the name. */
  serviceAccount?: string | undefined;
}

export interface WorkloadsFile {
  workloads: WorkloadSpec[];
  /** Config files to seed into the config folder (relative to the workloads file), refreshed at each start. */
  config: string[];
}

const SHAPE: Shape = {
  fields: {
    workloads: {
      list: {
        fields: {
          name: "string",
          version: "string",
          command: { list: "string" },
          port: "int",
          protocol: { enum: PROTOCOLS },
          labels: { map: "string" },
          install: "string",
          serviceAccount: "string",
        },
      },
    },
    config: { list: "string" },
  },
};

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Parses and checks a workloads file; throws one error listing every problem, each naming its field. */
export function parseWorkloads(text: string, file: string): WorkloadsFile {
  const raw = parse(text) as unknown;
  const problems = checkShape(raw ?? {}, SHAPE, "");
  const doc = (raw ?? {}) as { workloads?: Partial<WorkloadSpec>[]; config?: string[] };
  const seen = new Set<string>();
  const ports = new Map<string, number>();
  const workloads = (Array.isArray(doc.workloads) ? doc.workloads : []).map((w, i): WorkloadSpec => {
    const at = `workloads[${i}]`;
    if (!w.name || !DNS_LABEL.test(w.name))
      problems.push(`${at}.name: must be a DNS label (lower case letters, digits, -), got ${JSON.stringify(w.name)}`);
    const version = w.version ?? "v1";
    if (!DNS_LABEL.test(version)) problems.push(`${at}.version: must be a DNS label, got ${JSON.stringify(version)}`);
    if (w.serviceAccount !== undefined && !DNS_LABEL.test(w.serviceAccount))
      problems.push(`${at}.serviceAccount: must be a DNS label, got ${JSON.stringify(w.serviceAccount)}`);
    if (!w.command?.length) problems.push(`${at}.command: is required (a list: the program and its arguments)`);
    if (!Number.isInteger(w.port) || (w.port ?? 0) < 1 || (w.port ?? 0) > 65535)
      problems.push(`${at}.port: must be a port (1-65535)`);
    const key = `${w.name}-${version}`;
    if (seen.has(key)) problems.push(`${at}: ${w.name} ${version} is listed twice`);
    seen.add(key);
    const port = ports.get(w.name ?? "");
    if (port !== undefined && port !== w.port)
      problems.push(`${at}.port: every version of ${w.name} must use one port (${port})`);
    ports.set(w.name ?? "", w.port ?? 0);
    return {
      name: w.name ?? "",
      version,
      command: w.command ?? [],
      port: w.port ?? 0,
      protocol: w.protocol ?? "HTTP",
      labels: w.labels ?? {},
      install: w.install,
      serviceAccount: w.serviceAccount ?? w.name ?? "",
    };
  });
  if (!workloads.length) problems.push("workloads: at least one workload is required");
  if (problems.length) throw new Error(`${file}: ${problems.map((p) => p.replace(/^\./, "")).join("; ")}`);
  return { workloads, config: (doc.config ?? []).map((c) => path.resolve(path.dirname(file), c)) };
}

export interface CommandContext {
  ip: string;
  port: number;
  proxy: string;
  sidecar: string;
  root: string;
  node: string;
}

/** The command with its placeholders filled in. */
export function expandCommand(command: string[], ctx: CommandContext): string[] {
  const values: Record<string, string> = {
    ip: ctx.ip,
    port: String(ctx.port),
    proxy: ctx.proxy,
    sidecar: ctx.sidecar,
    root: ctx.root,
  };
  return command.map((arg, i) =>
    i === 0 && arg === "node"
      ? ctx.node
      : arg.replace(/\{(ip|port|proxy|sidecar|root)\}/g, (_, k: string) => values[k] ?? ""),
  );
}

/** A workload whose program isn't installed: the message says which, and how to install it. Pure (given `found`). */
export function missingPrograms(workloads: WorkloadSpec[], found: (program: string) => boolean): string[] {
  const out: string[] = [];
  for (const w of workloads) {
    const program = w.command[0];
    if (!program || program === "node" || found(program)) continue;
    out.push(`${w.name}-${w.version}: ${program} is not installed${w.install ? `; install it: ${w.install}` : ""}`);
  }
  return out;
}

/** Whether `program` is a path that exists, or a name found on PATH. */
export function onPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (program.includes("/")) return existsSync(program);
  return (env.PATH ?? "").split(":").some((dir) => dir && existsSync(path.join(dir, program)));
}
