// The table of `weft` subcommands: each is a role's declared flags (operator/api/roles.ts) and what runs it. Roles
// are loaded lazily, so `weft proxy` never loads the operator's Kubernetes client. To add a command: declare its
// Role, then add one `command(role, run)` line here.
import { parseRole, type Role, type Values } from "../api/contract.js";
import { carrierRole, discoveryRole, initRole, operatorRole, proxyRole, versionRole } from "../api/roles.js";
import {
  applyRole,
  checkRole,
  dashboardRole,
  deleteRole,
  proxyConfigRole,
  proxyStatusRole,
} from "../api/tool-roles.js";
import { WEFT_VERSION } from "../api/version.js";

export interface Command {
  role: Role;
  /** Parses argv (after the subcommand) and env by the role's flags, then runs. A bad flag throws UsageError. */
  start(argv: string[], env: Record<string, string | undefined>): Promise<number>;
}

export function command<R extends Role>(role: R, run: (values: Values<R>) => Promise<number>): Command {
  return { role, start: (argv, env) => run(parseRole(role, argv, env)) };
}

export const commands: Record<string, Command> = Object.fromEntries(
  [
    command(operatorRole, async (v) => (await import("./operator.js")).runOperator(v)),
    command(discoveryRole, async (v) => (await import("../discovery/cli.js")).runDiscovery(v)),
    command(proxyRole, async (v) => (await import("../../proxy/agent/cli.js")).runProxyRole(v)),
    command(initRole, async (v) => (await import("../../proxy/init/cli.js")).runInit(v)),
    command(carrierRole, async (v) =>
      (await import("../../proxy/carrier/carrier.js")).runCarrier({
        enginesDir: v["engines-dir"],
        version: v["engine-version"] ?? WEFT_VERSION,
        paths: v.path.split(",").filter(Boolean),
      }),
    ),
    command(checkRole, async (v) => (await import("./check.js")).runCheck(v)),
    command(proxyStatusRole, async (v) => (await import("./proxy-status.js")).runProxyStatus(v)),
    command(proxyConfigRole, async (v) => (await import("./proxy-config.js")).runProxyConfig(v)),
    command(dashboardRole, async (v) => (await import("./dashboard.js")).runDashboard(v)),
    command(applyRole, async (v) => (await import("./apply.js")).runApply(v, "apply")),
    command(deleteRole, async (v) => (await import("./apply.js")).runApply(v, "delete")),
    command(versionRole, async () => {
      process.stdout.write(`weft ${WEFT_VERSION}\n`);
      return 0;
    }),
  ].map((c) => [c.role.name, c]),
);

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.role.summary}`);
  return `Usage: weft <command> [flags]\n\nCommands:\n${lines.join("\n")}\n\n'weft <command> --help' shows a command's flags.\n`;
}
