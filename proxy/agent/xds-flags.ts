// `weft proxy --discovery-address ...` flags → runXdsAgent.
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
    enginesDir: str("engines-dir"),
    accessLog: values["access-log"] === true,
    drainSeconds: num("drain-seconds"),
  });
}
