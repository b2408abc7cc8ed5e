// What `weft proxy` (the sidecar: agent and engine) loads, from the sources' imports: not the CA's X.509 library and
// its polyfills (the agent writes its CSR itself, csr.ts), nor the operator's Kubernetes client, nor grpc-js, nor
// protobufjs. Each would cost every sidecar megabytes of private memory (bench:memory). Type-only imports load
// nothing and are not followed.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT } from "../../hack/paths.js";

const SPECIFIER =
  /^\s*(?:import|export)\s+(?!type\b)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

/**
 * Imports not followed: wire-types.ts makes its table from protos.ts (protobufjs and the whole descriptor) only when
 * the built table is missing or stale, as under jest; a built sidecar reads the table `npm run build` wrote.
 */
const ONLY_WITHOUT_A_BUILD = new Set(["proxy/xds/wire-types.ts → ./protos.js"]);

/** The packages the module graph from `entry` loads, and the source files it walks. */
function graph(entry: string): { packages: Set<string>; files: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [resolve(REPO_ROOT, entry)];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith("node:") || ONLY_WITHOUT_A_BUILD.has(`${relative(REPO_ROOT, file)} → ${spec}`)) continue;
      if (!spec.startsWith(".")) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string));
        continue;
      }
      const ts = join(dirname(file), spec.replace(/\.js$/, ".ts"));
      if (existsSync(ts)) queue.push(ts);
    }
  }
  return { packages, files };
}

describe("the sidecar's footprint", () => {
  const { packages, files } = graph("proxy/agent/cli.ts");

  it("is walked: the agent's xDS client and the engine are in it", () => {
    expect(packages).toContain("yaml"); // the bootstrap file's reader
    expect([...files].map((f) => relative(REPO_ROOT, f))).toEqual(
      expect.arrayContaining([
        "proxy/agent/xds-main.ts",
        "proxy/agent/csr.ts",
        "proxy/engine/stream.ts",
        "proxy/xds/wire-decode.ts",
      ]),
    );
  });

  // grpc-js too: the agent speaks gRPC through proxy/xds/grpc.ts (about 2 MB less private memory per sidecar).
  // protobufjs: the agent reads and writes ADS, the CA's API and Envoy's resources on the bare wire (proxy/xds/wire*.ts,
  // ads-wire.ts, delta.ts); protobufjs' reflection of Envoy's types was about 5 MB of its heap.
  // prom-client: the engine renders Prometheus text itself (proxy/engine/prometheus.ts). re2js: no import of it, only
  // a require() at the first pattern (proxy/xds/regex.ts; regex-load.test.ts).
  it.each([
    "@peculiar/x509",
    "reflect-metadata",
    "@kubernetes/client-node",
    "@grpc/grpc-js",
    "protobufjs",
    "prom-client",
    "re2js",
  ])("leaves out %s", (pkg) => {
    expect(packages).not.toContain(pkg);
  });
});
