// npm run image: builds Weft's images as OCI archives in .weft/images/, with no Docker daemon.
//   weft-<version>.oci.tar      <hub>/weft:<version>            operator, discovery, proxy (entrypoint `weft`)
//   bookinfo-<version>.oci.tar  <hub>/bookinfo:<version>        the Bookinfo sample apps
//   pause.oci.tar               localhost/weft/pause:1          the pod sandbox (a static C program)
// Each loads with `ctr -n k8s.io images import`, `kind load image-archive` or `docker load`.
// `npm run image -- --version V` builds only the weft image, as version V (weft-V.oci.tar, <hub>/weft:V): the same
// package announcing V, for trying a proxy upgrade (spec.proxy.tag: V) without another release.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { WEFT_VERSION } from "../../operator/api/version.js";
import { DEFAULT_HUB } from "../../operator/api/versions.js";
import { isEngineVersion } from "../../proxy/xds/engine.js";
import { REPO_ROOT } from "../paths.js";
import { layerFromDir, writeArchive, type ImageSpec, type Layer } from "./oci.js";
import { APP, NON_ROOT, baseRoot, bookinfoRoot, pauseRoot, weftRoot } from "./rootfs.js";

export const IMAGES_DIR = join(REPO_ROOT, ".weft", "images");
const PATH = "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface BuiltImage {
  name: string;
  ref: string;
  archive: string;
}

/** The images `npm run image` writes, by name: the reference and the archive path. Pure. */
export function images(version = WEFT_VERSION, hub = DEFAULT_HUB): Record<"weft" | "bookinfo" | "pause", BuiltImage> {
  const at = (file: string) => join(IMAGES_DIR, file);
  return {
    weft: { name: "weft", ref: `${hub}/weft:${version}`, archive: at(`weft-${version}.oci.tar`) },
    bookinfo: { name: "bookinfo", ref: `${hub}/bookinfo:${version}`, archive: at(`bookinfo-${version}.oci.tar`) },
    pause: { name: "pause", ref: "localhost/weft/pause:1", archive: at("pause.oci.tar") },
  };
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

async function build(version = WEFT_VERSION): Promise<void> {
  if (!existsSync(join(REPO_ROOT, "dist", "operator", "cli", "main.js")))
    throw new Error("dist/ is missing: run `npm run build` first");
  const work = join(IMAGES_DIR, "work");
  const layers = join(IMAGES_DIR, "layers");
  mkdirSync(work, { recursive: true });
  const layer = async (name: string, fill: (dir: string) => void | Promise<void>): Promise<Layer> => {
    await fill(join(work, name));
    return layerFromDir(join(work, name), layers);
  };
  const base = await layer("base", baseRoot);
  const all = images(version);
  const specs: Array<[BuiltImage, ImageSpec]> = [
    [
      all.weft,
      {
        ref: all.weft.ref,
        layers: [base, await layer("weft", (dir) => weftRoot(dir, version))],
        entrypoint: ["/usr/local/bin/weft"],
        user: `${NON_ROOT}:${NON_ROOT}`,
        // The version engines forked from dist/ announce (the gateway's, an agent without --binary-path); the bundle
        // has its version built in.
        env: [PATH, "NODE_ENV=production", `WEFT_ENGINE_VERSION=${version}`],
        workingDir: APP,
      },
    ],
    [
      all.bookinfo,
      {
        ref: all.bookinfo.ref,
        layers: [base, await layer("bookinfo", bookinfoRoot)],
        entrypoint: ["/usr/local/bin/node", `${APP}/dist/samples/bookinfo/apps/main.js`],
        user: `${NON_ROOT}:${NON_ROOT}`,
        env: [PATH],
        workingDir: APP,
      },
    ],
    [
      all.pause,
      {
        ref: all.pause.ref,
        layers: [await layer("pause", pauseRoot)],
        entrypoint: ["/pause"],
        user: `${NON_ROOT}:${NON_ROOT}`,
        env: [],
      },
    ],
  ];
  // Another version is the weft image alone: Bookinfo and pause don't change with it.
  for (const [img, spec] of version === WEFT_VERSION ? specs : specs.slice(0, 1)) {
    const size = await writeArchive(spec, img.archive, join(work, `${img.name}.oci`));
    const unpacked = spec.layers.reduce((n, l) => n + l.uncompressedSize, 0);
    process.stdout.write(
      `${img.ref.padEnd(36)} ${mb(size).padStart(9)} compressed, ${mb(unpacked).padStart(9)} unpacked  ${img.archive}\n`,
    );
  }
}

/** The version `--version V` (or `--version=V`) asks for, else this build's. */
export function versionArg(argv: string[]): string {
  const i = argv.findIndex((a) => a === "--version" || a.startsWith("--version="));
  if (i < 0) return WEFT_VERSION;
  const v = argv[i]?.includes("=") ? argv[i]?.slice("--version=".length) : argv[i + 1];
  if (!v || !isEngineVersion(v)) throw new Error(`--version ${v ?? ""}: want an image tag`);
  return v;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  Promise.resolve()
    .then(() => build(versionArg(process.argv.slice(2))))
    .catch((err: unknown) => {
      process.stderr.write(`image: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
