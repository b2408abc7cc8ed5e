// Stops the process cluster if this run started it (WEFT_KEEP_CLUSTER=1 keeps it).
import { execFileSync } from "node:child_process";

export default async function globalTeardown(): Promise<void> {
  if (process.env.WEFT_STARTED_CLUSTER && !process.env.WEFT_KEEP_CLUSTER) {
    execFileSync("node", [`${process.cwd()}/dist/hack/cluster/main.js`, "down"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
}
