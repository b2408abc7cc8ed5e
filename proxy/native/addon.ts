// Loads one of the N-API addons hack/native.ts builds: beside this module (dist/proxy/native/, or the image's engine
// bundle, which carries them beside itself) or, from the source tree (tests under ts-jest), in dist/.
import { createRequire } from "node:module";

/** The addon `file` (original_dst.node, …), or why it can't be loaded (the first loader error). */
export function loadAddon<T>(file: string): T | string {
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const url of [
    new URL(`./${file}`, import.meta.url),
    new URL(`../../dist/proxy/native/${file}`, import.meta.url),
  ]) {
    try {
      return require(url.pathname) as T;
    } catch (err) {
      errors.push((err as Error).message.split("\n")[0] ?? "");
    }
  }
  return errors[0] ?? "not found";
}
