// `weft carrier`: the engine carrier, a small second container in an injected pod, running the proxy image. It
// copies its image's engine into the engines directory the pod shares with weft-proxy (an emptyDir) as
// <engines-dir>/<version>/<path>, for every path given (as absolute paths in the image, so a binaryPath resolves the
// same inside the bundle), then sleeps until SIGTERM. The copy goes to a temporary directory first and is renamed
// into place, so the agent never sees half a bundle. To upgrade in place, the operator changes only this
// container's image: the kubelet restarts it alone, and the new image's engine appears beside the old one.
import { cp, mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

export interface CarryOptions {
  enginesDir: string;
  version: string;
  /** Absolute paths in this image: files or directories. */
  paths: string[];
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Lays out <enginesDir>/<version>/ (unless it is there already); returns it. */
export async function carry(o: CarryOptions): Promise<string> {
  const bundle = join(o.enginesDir, o.version);
  if (await exists(bundle)) return bundle;
  const tmp = join(o.enginesDir, `.${o.version}.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  try {
    for (const p of o.paths) {
      if (!p.startsWith("/")) throw new Error(`${p}: not an absolute path`);
      await mkdir(join(tmp, p, ".."), { recursive: true });
      await cp(p, join(tmp, p), { recursive: true, verbatimSymlinks: true });
    }
    await rename(tmp, bundle);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (await exists(bundle)) return bundle; // another carrier got there first
    throw err;
  }
  return bundle;
}

export async function runCarrier(o: CarryOptions): Promise<number> {
  const bundle = await carry(o);
  process.stderr.write(`weft carrier: engine ${o.version} in ${bundle}; waiting\n`);
  // A signal listener doesn't keep Node running: without a timer the carrier would exit at once, and the kubelet
  // would restart it over and over (the pod never Ready).
  const alive = setInterval(() => undefined, 2 ** 31 - 1);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  clearInterval(alive);
  return 0;
}
