// `npm start`: the mesh with your workloads (Bookinfo by default) as local processes, until Ctrl-C / SIGTERM.
//   npm start -- [bookinfo|videos] [--workloads weft.local.yaml] [--config-dir .weft/local/config] [--gateway-port 8080]
//                [--xds-port 15010] [--secure-port 15012] [--monitoring-port 15014] [--base 127.0.10] [--app-base 127.0.11]
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { BOOKINFO_WORKLOADS, readWorkloads, repoRoot, startLocalMesh, type LocalMesh } from "./mesh.js";

/** The samples `npm start -- NAME` runs. */
const SAMPLES: Record<string, string> = {
  bookinfo: "samples/bookinfo/local/weft.local.yaml",
  videos: "samples/videos/local/weft.local.yaml",
};

/** A sample by name, --workloads, else ./weft.local.yaml when there is one, else Bookinfo's. */
function workloadsFile(flag: string | undefined, sample: string | undefined): string {
  if (sample !== undefined) {
    const file = SAMPLES[sample];
    if (!file) throw new Error(`unknown sample "${sample}" (${Object.keys(SAMPLES).join(", ")})`);
    return path.join(repoRoot(), file);
  }
  if (flag) return path.resolve(flag);
  const here = path.resolve("weft.local.yaml");
  return existsSync(here) ? here : BOOKINFO_WORKLOADS(repoRoot());
}

function tryYours(m: LocalMesh): string {
  const w = m.layout.workloads[0];
  const first = w
    ? `  curl -s -H 'host: ${w.app}:${w.port}' http://${w.ip}:${m.layout.outboundPort}/   # ${w.app}, through ${w.app}-${w.version}'s own sidecar\n`
    : "";
  return `
The mesh is up. Each app calls others through its sidecar: {proxy} = <its sidecar IP>:${m.layout.outboundPort}, Host = <name>:<port>.
${first}  curl -s ${m.monitoringUrl}/debug/syncz      # every proxy's versions, ACK/NACK
  curl -s ${m.monitoringUrl}/debug/configz     # rejected objects and warnings
Config folder: ${path.relative(process.cwd(), m.configDir) || "."}/ (add VirtualServices etc.; they take effect within a second)
Ctrl-C stops everything.
`;
}

function tryThis(m: LocalMesh): string {
  const cfg = path.relative(process.cwd(), m.configDir) || ".";
  const gw = m.gatewayUrl;
  return `
The mesh is up. Try:
  curl -s ${gw}/productpage | grep -o 'reviews-v[123]'        # round robin over v1, v2, v3
  curl -s '${gw}/productpage?u=jason' | grep -o 'reviews-v[123]'   # as user jason (end-user: jason)

Route with Istio's own files (they take effect within a second):
  cp samples/bookinfo/networking/virtual-service-all-v1.yaml ${cfg}/             # everyone: reviews-v1
  cp samples/bookinfo/networking/virtual-service-reviews-50-v3.yaml ${cfg}/      # v1/v3 50/50
  rm ${cfg}/virtual-service-reviews-50-v3.yaml
  cp samples/bookinfo/networking/virtual-service-reviews-test-v2.yaml ${cfg}/    # jason: v2, others: v1
  cp samples/bookinfo/networking/virtual-service-ratings-test-abort.yaml ${cfg}/ # jason: ratings unavailable

Look inside:
  curl -s ${m.monitoringUrl}/debug/syncz        # every proxy's versions, ACK/NACK
  curl -s ${m.admin["reviews-v2"]}/config_dump    # one sidecar's config and xDS versions
  logs: ${path.relative(process.cwd(), m.logDir)}/

Ctrl-C stops everything.
`;
}

function tryVideos(m: LocalMesh): string {
  const cfg = path.relative(process.cwd(), m.configDir) || ".";
  return `
The videos catalogue is up${process.env.FLAKY === "true" ? ", with FLAKY=true: videos-api fails every third request" : ""}. Try:
  curl -s -o /dev/null -w '%{http_code}\\n' ${m.gatewayUrl}/     # 200, or 502 when videos-api failed (FLAKY=true)
  cp samples/videos/networking/videos-api-retry.yaml ${cfg}/    # retries: the page stops breaking
  curl -s ${m.monitoringUrl}/debug/syncz                        # every proxy's versions, ACK/NACK
Walkthrough: samples/videos/README.md. Ctrl-C stops everything.
`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      "config-dir": { type: "string" },
      "gateway-port": { type: "string" },
      "xds-port": { type: "string" },
      "secure-port": { type: "string" },
      "monitoring-port": { type: "string" },
      base: { type: "string" },
      "app-base": { type: "string" },
      workloads: { type: "string" },
    },
    strict: true,
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const configDir = path.resolve(values["config-dir"] ?? path.join(repoRoot(), ".weft/local/config"));
  const say = (line: string): void => void process.stdout.write(`weft local: ${line}\n`);
  if (positionals.length > 1) throw new Error(`one sample at most, got ${positionals.join(" ")}`);
  const sample = positionals[0];
  const file = workloadsFile(values.workloads, sample);
  const bookinfo = file === BOOKINFO_WORKLOADS(repoRoot());
  say(
    `starting discovery, the workloads of ${path.relative(process.cwd(), file)}, their sidecars and the ingress gateway`,
  );
  const mesh = await startLocalMesh({
    configDir,
    workloads: readWorkloads(file),
    gatewayPort: num(values["gateway-port"]),
    xdsPort: num(values["xds-port"]),
    securePort: num(values["secure-port"]),
    monitoringPort: num(values["monitoring-port"]),
    base: values.base,
    appBase: values["app-base"],
    progress: say,
  });
  process.stdout.write(bookinfo ? tryThis(mesh) : sample === "videos" ? tryVideos(mesh) : tryYours(mesh));
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  say("stopping");
  await mesh.stop();
  say("stopped");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`weft local: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
