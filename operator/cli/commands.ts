// The table of `weft` subcommands. Each role lives in its own module and is loaded lazily,
// so `weft proxy` never loads the operator's Kubernetes client.
import type { ParseArgsConfig } from "node:util";
import { WEFT_VERSION } from "../api/version.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  summary: string;
  options: Options;
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  discovery: {
    summary: "run the control plane: Istio config in, Envoy xDS out; --config-dir DIR for local mode",
    options: {
      "config-dir": { type: "string" },
      "xds-port": { type: "string" },
      "monitoring-port": { type: "string" },
      address: { type: "string" },
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
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `Usage: weft <command> [flags]\n\nCommands:\n${lines.join("\n")}\n`;
}
