// The table of `weft` subcommands. Each role lives in its own module and is loaded lazily,
// so `weft proxy` never loads the operator's Kubernetes client.
import type { ParseArgsConfig } from "node:util";
import { WEFT_VERSION } from "../api/version.js";
import { operatorCommand } from "./operator.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  summary: string;
  options: Options;
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  operator: operatorCommand,
  discovery: {
    summary: "run the control plane: Istio config in, Envoy xDS out; --config-dir DIR for local mode, else Kubernetes",
    options: {
      "config-dir": { type: "string" },
      "xds-port": { type: "string" },
      "monitoring-port": { type: "string" },
      address: { type: "string" },
      kubeconfig: { type: "string" },
      namespace: { type: "string" },
      mesh: { type: "string" },
      "watch-namespace": { type: "string" },
      "webhook-port": { type: "string" },
    },
    async run(values) {
      const { runDiscovery } = await import("../discovery/cli.js");
      return runDiscovery(values);
    },
  },
  version: {
    summary: "print the version",
    options: {},
    async run() {
      process.stdout.write(`weft ${WEFT_VERSION}\n`);
      return 0;
    },
  },
  proxy: {
    summary: "run the proxy engine from a static bootstrap file; with --agent, as a hot-restartable child; with --discovery-address, over xDS",
    options: {
      bootstrap: { type: "string" },
      agent: { type: "boolean" },
      "binary-path": { type: "string" },
      "admin-port": { type: "string" },
      "stats-port": { type: "string" },
      "ready-port": { type: "string" },
      "access-log": { type: "boolean" },
      "drain-seconds": { type: "string" },
      "discovery-address": { type: "string" },
      "node-id": { type: "string" },
      "app-address": { type: "string" },
      "outbound-port": { type: "string" },
      "admin-address": { type: "string" },
      "engines-dir": { type: "string" },
      "engine-version": { type: "string" },
      "engine-wait": { type: "string" },
      "engine-ready-timeout": { type: "string" },
    },
    async run(values) {
      if (typeof values["discovery-address"] === "string") {
        const { runXdsFromFlags } = await import("../../proxy/agent/xds-flags.js");
        return runXdsFromFlags(values);
      }
      const file = values.bootstrap;
      if (typeof file !== "string") {
        process.stderr.write("weft proxy: --bootstrap FILE is required\n");
        return 2;
      }
      const num = (k: string) => (typeof values[k] === "string" ? Number(values[k]) : undefined);
      const flags = {
        bootstrap: file,
        adminPort: num("admin-port"),
        statsPort: num("stats-port"),
        readyPort: num("ready-port"),
        accessLog: values["access-log"] === true,
        drainSeconds: num("drain-seconds"),
      };
      if (values.agent === true) {
        const { runAgent } = await import("../../proxy/agent/main.js");
        const bp = values["binary-path"];
        return runAgent({ ...flags, binaryPath: typeof bp === "string" ? bp : undefined });
      }
      const { runProxy } = await import("../../proxy/engine/main.js");
      return runProxy(flags);
    },
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `Usage: weft <command> [flags]\n\nCommands:\n${lines.join("\n")}\n`;
}
