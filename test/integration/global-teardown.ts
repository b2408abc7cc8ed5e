// Stops the process cluster if this run started it.
import { execFileSync } from "node:child_process";
import { REPO_ROOT } from "../../hack/cluster/layout.js";

export default async function globalTeardown(): Promise<void> {
  if (process.env.WEFT_STARTED_CLUSTER && !process.env.WEFT_KEEP_CLUSTER) {
    execFileSync("node", [`${REPO_ROOT}/dist/hack/cluster/main.js`, "down"], { stdio: ["ignore", "ignore", "inherit"] });
  }
}
