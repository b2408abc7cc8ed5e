// `weft apply -f FILE` / `weft delete -f FILE`: local mode's config folder as kubectl edits a cluster. Every file
// write is atomic (a temporary file renamed over), so discovery's watcher never reads half an object.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Values } from "../api/contract.js";
import type { applyRole } from "../api/tool-roles.js";
import { parseDocuments, yamlFiles } from "../discovery/sources/dir.js";
import { planApply, planDelete, type FolderFile } from "./tools/apply-plan.js";

export async function runApply(v: Values<typeof applyRole>, verb: "apply" | "delete"): Promise<number> {
  const { UsageError } = await import("../api/contract.js");
  const file = v.file;
  const dir = v["config-dir"];
  if (!file) throw new UsageError("-f FILE is required");
  if (!dir) throw new UsageError("--config-dir DIR (or $WEFT_CONFIG_DIR) is required: the folder npm start prints");
  const text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  const objects = parseDocuments(text, file);
  const folder: FolderFile[] = [];
  for (const f of await yamlFiles(dir)) {
    const name = path.relative(dir, f);
    folder.push({ name, objects: parseDocuments(await readFile(f, "utf8"), name) });
  }
  const plan = verb === "apply" ? planApply(folder, objects, path.basename(file)) : planDelete(folder, objects);
  for (const e of plan.errors) process.stderr.write(`weft ${verb}: ${e}\n`);
  if (verb === "apply" && plan.errors.length) return 1;
  for (const [name, content] of plan.writes) {
    const target = path.join(dir, name);
    if (content === null) await rm(target, { force: true });
    else {
      const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
      await writeFile(tmp, content);
      await rename(tmp, target);
    }
  }
  for (const r of plan.results) process.stdout.write(`${r}\n`);
  return plan.errors.length ? 1 : 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
