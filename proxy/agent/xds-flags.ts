// `weft proxy --discovery-address ...` flags → runXdsAgent.
import { parseDuration } from "../../operator/cli/flags.js";
import { runXdsAgent } from "./xds-main.js";

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function runXdsFromFlags(values: Values): Promise<number> {
  const str = (k: string): string | undefined => (typeof values[k] === "string" ? values[k] : undefined);
  const num = (k: string): number | undefined => (str(k) === undefined ? undefined : Number(str(k)));
  return runXdsAgent({
    discoveryAddress: str("discovery-address") as string,
    nodeId: str("node-id"),
    appAddress: str("app-address"),
    outboundPort: num("outbound-port"),
    adminAddress: str("admin-address"),
    adminPort: num("admin-port"),
    statsPort: num("stats-port"),
    readyPort: num("ready-port"),
    binaryPath: str("binary-path"),
    accessLog: values["access-log"] === true,
    drainSeconds: num("drain-seconds"),
    enginesDir: str("engines-dir"),
    engineVersion: str("engine-version"),
    engineWaitMs: str("engine-wait") === undefined ? undefined : parseDuration("engine-wait", str("engine-wait") as string),
    engineReadyMs: str("engine-ready-timeout") === undefined ? undefined : parseDuration("engine-ready-timeout", str("engine-ready-timeout") as string),
  });
}
