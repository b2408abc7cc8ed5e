// Local mode: every YAML file (multi-document) under a directory is config; the directory is watched and each
// change, debounced, yields a fresh ConfigModel. Services that run as local processes are ServiceEntries and
// WorkloadEntries with loopback addresses.
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { ConfigModel } from "../model/config.js";
import type { KubeObject } from "../model/kube.js";
import { normalise } from "../model/normalise.js";
import { admit, rejectionMessage, type Rejection } from "./admission.js";

export interface DirSnapshot {
  model: ConfigModel;
  /** Per-file parse problems, rejected objects and normalisation warnings. */
  warnings: string[];
  /** The objects in use (admitted, or the previous good version of a rejected one). */
  objects: KubeObject[];
  /** Objects rejected at the door: invalid, or a duplicate of an earlier definition. */
  rejected?: Rejection[];
}

export interface DirSourceOptions {
  dir: string;
  debounceMs?: number;
  domainSuffix?: string;
  onChange(snapshot: DirSnapshot): void;
}

const YAML_FILE = /\.ya?ml$/i;

export async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && YAML_FILE.test(e.name) && !e.name.startsWith("."))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Parses one file's documents; a document that fails to parse fails the file. */
export function parseDocuments(text: string, file: string): KubeObject[] {
  const docs = parseAllDocuments(text);
  const objects: KubeObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${(doc.errors[0]?.message ?? "YAML error").split("\n")[0]}`);
    const value = doc.toJS() as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) objects.push(value as KubeObject);
  }
  return objects;
}

export class DirSource {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  /** The last content that parsed, per file: a half-written file doesn't take its config away. */
  private readonly lastGood = new Map<string, KubeObject[]>();
  /** The text each file had when it was last parsed: unchanged files aren't parsed again. */
  private readonly parsedText = new Map<string, string>();
  /** Files that don't parse, with the reason; reported until they do. */
  private readonly broken = new Map<string, string>();
  /** The versions of objects in use, by file and object (admission.ts): a rejected edit keeps the previous one. */
  private good = new Map<string, KubeObject>();
  /** What changed since the last read: paths the watcher named, or everything. */
  private dirty: Set<string> | "all" = "all";

  constructor(private readonly options: DirSourceOptions) {}

  /** Reads the directory once, reports it, then watches it. */
  async start(): Promise<DirSnapshot> {
    const snapshot = await this.read();
    this.options.onChange(snapshot);
    this.watcher = watch(this.options.dir, { recursive: true }, (_event, filename) => {
      if (filename && this.dirty !== "all") this.dirty.add(path.join(this.options.dir, filename.toString()));
      else this.dirty = "all";
      this.schedule();
    });
    this.watcher.on("error", () => {
      this.dirty = "all";
      this.schedule();
    });
    return snapshot;
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Reads run one after another, so reports arrive in order.
      this.reading = this.reading.then(async () => {
        if (!this.watcher) return;
        this.options.onChange(await this.read());
      });
    }, this.options.debounceMs ?? 20);
  }

  private forget(file: string): void {
    this.lastGood.delete(file);
    this.parsedText.delete(file);
    this.broken.delete(file);
  }

  /** The files to look at: all of them, or those the watcher named (a named folder means all). */
  private async changedFiles(): Promise<string[]> {
    const dirty = this.dirty;
    this.dirty = new Set();
    if (dirty !== "all") {
      const named = await Promise.all([...dirty].map(async (f) => ({ f, st: await stat(f).catch(() => undefined) })));
      if (!named.some(({ st }) => st?.isDirectory())) {
        for (const { f, st } of named) if (!st) this.forget(f);
        return named
          .filter(({ f, st }) => st?.isFile() && YAML_FILE.test(f) && !path.basename(f).startsWith("."))
          .map(({ f }) => f);
      }
    }
    const files = await yamlFiles(this.options.dir);
    const present = new Set(files);
    for (const known of [...this.lastGood.keys(), ...this.broken.keys()]) if (!present.has(known)) this.forget(known);
    return files;
  }

  async read(): Promise<DirSnapshot> {
    const files = await this.changedFiles();
    const texts = await Promise.all(files.map((f) => readFile(f, "utf8").catch(() => undefined)));
    files.forEach((file, i) => {
      const text = texts[i];
      if (text === undefined || text === this.parsedText.get(file)) return;
      try {
        this.lastGood.set(file, parseDocuments(text, path.relative(this.options.dir, file)));
        this.parsedText.set(file, text);
        this.broken.delete(file);
      } catch (err) {
        this.broken.set(file, (err as Error).message);
      }
    });
    const warnings = [...this.broken.entries()].map(
      ([file, message]) => `${message}${this.lastGood.has(file) ? " (keeping its previous content)" : ""}`,
    );
    // Files in path order, documents in file order: the first definition of an object wins (admission.ts).
    const candidates = [...this.lastGood.keys()]
      .sort()
      .flatMap((file) =>
        (this.lastGood.get(file) ?? []).map((object) => ({ object, origin: path.relative(this.options.dir, file) })),
      );
    const admitted = admit(candidates, this.good);
    this.good = admitted.good;
    const result = normalise(admitted.objects, { domainSuffix: this.options.domainSuffix });
    return {
      model: result.model,
      warnings: [...warnings, ...admitted.rejected.map(rejectionMessage), ...result.warnings],
      objects: admitted.objects,
      rejected: admitted.rejected,
    };
  }
}
