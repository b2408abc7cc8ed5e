// Local mode: every YAML file (multi-document) under a directory is config; the directory is watched and each
// change, debounced, yields a fresh ConfigModel. Services that run as local processes are ServiceEntries and
// WorkloadEntries with loopback addresses.
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { ConfigModel } from "../model/config.js";
import type { KubeObject } from "../model/kube.js";
import { normalise } from "../model/normalise.js";
import { intern } from "../model/intern.js";
import { admit, rejectionMessage, type Rejection } from "./admission.js";

export interface DirSnapshot {
  model: ConfigModel;
  /** Per-file parse problems, rejected objects and normalisation warnings. */
  warnings: string[];
  /** The objects in use (admitted, or the previous good version of a rejected one). */
  objects: KubeObject[];
  /** Objects rejected at the door: invalid, or a duplicate of an earlier definition. */
  rejected?: Rejection[];
  /**
   * When the last change this snapshot takes in was seen (Date.now()): the push's debounce counts from there, so
   * the source's own debounce doesn't add to it.
   */
  changedAt?: number;
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
  /** One non-recursive watcher per folder of the tree, by path. */
  private readonly watchers = new Map<string, FSWatcher>();
  /** The last model read. */
  private model: ConfigModel | undefined;
  private watching = false;
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

  constructor(private readonly options: DirSourceOptions) {}

  /** Reads the directory once, reports it, then watches it. */
  async start(): Promise<DirSnapshot> {
    this.watching = true;
    await this.watchFolders();
    const snapshot = await this.read();
    this.options.onChange(snapshot);
    return snapshot;
  }

  stop(): void {
    this.watching = false;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Watches every folder of the tree, each on its own (inotify on a folder reports every file event in it). Not
   * `fs.watch(dir, { recursive: true })`: on Linux, Node emulates that per file, and misses the writes to a file
   * that was deleted and created again. Any event rereads the whole tree (only changed texts are parsed again), so
   * no event's file name is trusted either.
   */
  private async watchFolders(): Promise<void> {
    const entries = await readdir(this.options.dir, { withFileTypes: true, recursive: true }).catch(() => []);
    const folders = new Set([
      this.options.dir,
      ...entries.filter((e) => e.isDirectory()).map((e) => path.join(e.parentPath, e.name)),
    ]);
    for (const [folder, w] of this.watchers)
      if (!folders.has(folder)) {
        w.close();
        this.watchers.delete(folder);
      }
    for (const folder of folders) {
      if (this.watchers.has(folder) || !this.watching) continue;
      try {
        const w = watch(folder, () => this.schedule());
        w.on("error", () => this.schedule());
        this.watchers.set(folder, w);
      } catch {
        this.schedule(); // gone already: the next read sees it
      }
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const changedAt = Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Reads run one after another, so reports arrive in order.
      this.reading = this.reading.then(async () => {
        if (!this.watching) return;
        await this.watchFolders();
        this.options.onChange(Object.assign(await this.read(), { changedAt }));
      });
    }, this.options.debounceMs ?? 20);
  }

  private forget(file: string): void {
    this.lastGood.delete(file);
    this.parsedText.delete(file);
    this.broken.delete(file);
  }

  /** Every YAML file of the tree; those gone since the last read are forgotten. */
  private async changedFiles(): Promise<string[]> {
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
    // What didn't change keeps its identity: translation and encoding are memoised by it.
    this.model = intern(this.model, result.model);
    return {
      model: this.model,
      warnings: [...warnings, ...admitted.rejected.map(rejectionMessage), ...result.warnings],
      objects: admitted.objects,
      rejected: admitted.rejected,
    };
  }
}
