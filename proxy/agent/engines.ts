// Which engine a hot restart may run. The binary the agent was started with is trusted (it came from the command
// line, which the injector renders); any other must be a regular file inside the engines directory, fixed at start
// (--engines-dir, WEFT_ENGINES_DIR, default /var/lib/weft/engines). A path from a request is resolved against that
// directory, and its real path (symlinks followed) must stay inside it: `..`, absolute paths elsewhere and
// symlinks out are refused. The admin port answers 403 with the reason.
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { AdminError } from "../engine/admin-guard.js";

export const DEFAULT_ENGINES_DIR = "/var/lib/weft/engines";

export class EngineChooser {
  /** The engines directory's real path, or undefined when it doesn't exist (then only `initial` may run). */
  private readonly dir: string | undefined;

  constructor(
    private readonly initial: string,
    enginesDir: string = process.env.WEFT_ENGINES_DIR ?? DEFAULT_ENGINES_DIR,
    readonly configuredDir = resolve(enginesDir),
  ) {
    try {
      this.dir = realpathSync(configuredDir);
    } catch {
      this.dir = undefined;
    }
  }

  /** The path to fork for a hot restart to `requested` (undefined: the current binary, chosen by the agent). */
  choose(requested: string | undefined, current: string): string {
    if (requested === undefined || requested === "") return current;
    if (requested === this.initial) return requested;
    const refuse = (why: string): never => {
      throw new AdminError(403, `binary_path ${JSON.stringify(requested)} refused: ${why}`);
    };
    if (requested.includes("\0")) refuse("it contains NUL");
    if (requested.split(/[\\/]/).includes("..")) refuse("it contains '..'");
    if (!this.dir) return refuse(`the engines directory ${this.configuredDir} does not exist`);
    const candidate = isAbsolute(requested) ? requested : resolve(this.dir, requested);
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      return refuse("no such file");
    }
    const rel = relative(this.dir, real);
    if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel))
      refuse(`it is not inside the engines directory ${this.configuredDir}`);
    if (!statSync(real).isFile()) refuse("it is not a regular file");
    return real;
  }
}
