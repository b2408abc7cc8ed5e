// `weft check`'s runner: each check printed as it runs, ✔ or ✘ with what is wrong and a one-line hint that says
// what to do. Pure apart from the writer it is given.

export interface Verdict {
  ok: boolean;
  /** What was found: shown after the name (✔) or as the problem (✘). */
  detail?: string;
  /** What to do, one line; required when !ok. */
  hint?: string;
}

export interface Check {
  name: string;
  run(): Promise<Verdict>;
}

export const pass = (detail?: string): Verdict => ({ ok: true, ...(detail ? { detail } : {}) });
export const fail = (detail: string, hint: string): Verdict => ({ ok: false, detail, hint });

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").trim();

export function formatVerdict(name: string, v: Verdict): string {
  if (v.ok) return `✔ ${name}${v.detail ? `: ${oneLine(v.detail)}` : ""}\n`;
  return `✘ ${name}: ${oneLine(v.detail ?? "failed")}\n    hint: ${oneLine(v.hint ?? "")}\n`;
}

/** Runs the checks in order (a group may add more as it learns: the meshes found, say); true if all pass. */
export async function runChecks(
  groups: readonly { title: string; checks: () => Promise<readonly Check[]> | readonly Check[] }[],
  write: (s: string) => void,
): Promise<boolean> {
  let ok = true;
  for (const g of groups) {
    write(`${g.title}\n${"-".repeat(g.title.length)}\n`);
    let checks: readonly Check[];
    try {
      checks = await g.checks();
    } catch (err) {
      write(formatVerdict(g.title, fail((err as Error).message, "see the error above; fix access to the API server")));
      ok = false;
      write("\n");
      continue;
    }
    for (const c of checks) {
      let v: Verdict;
      try {
        v = await c.run();
      } catch (err) {
        v = fail(err instanceof Error ? err.message : String(err), "the check itself failed: see the message");
      }
      if (!v.ok) ok = false;
      write(formatVerdict(c.name, v));
    }
    write("\n");
  }
  write(ok ? "Status check results are ✔\n" : "Status check results are ✘\n");
  return ok;
}
