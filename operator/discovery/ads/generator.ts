// Snapshots per proxy from the current config model: one translate per proxy class per generation, shared.
import type { ConfigModel } from "../model/config.js";
import { emptyModel } from "../model/config.js";
import type { ProxyIdentity } from "../translate/index.js";
import { proxyClassKey, translate, unmatchedHosts } from "../translate/index.js";
import { validateDestinationRule, validateVirtualService } from "../validate/index.js";
import type { Snapshot } from "./snapshot.js";
import { EncodeCache, buildSnapshot, ruleWarnings } from "./snapshot.js";

export class SnapshotGenerator {
  private model: ConfigModel = emptyModel();
  private generation = 0;
  private memo = new Map<string, Snapshot | Error>();
  private readonly cache = new EncodeCache();
  /** Warnings of the latest translations, by proxy class, for logs and /debug/syncz. */
  readonly warnings = new Set<string>();

  /** Installs a new config; returns its version. */
  setModel(model: ConfigModel): string {
    this.model = model;
    this.generation++;
    this.memo = new Map();
    this.warnings.clear();
    for (const w of modelWarnings(model)) this.warnings.add(w);
    return this.version;
  }

  get version(): string {
    return String(this.generation);
  }

  get current(): ConfigModel {
    return this.model;
  }

  /** Throws when translation gives an inconsistent or unencodable snapshot; the caller keeps the previous one. */
  snapshotFor(proxy: ProxyIdentity, listenerNames: string[]): Snapshot {
    const options = { listenerNames };
    const key = proxyClassKey(this.model, proxy, options);
    let snapshot = this.memo.get(key);
    if (!snapshot) {
      try {
        snapshot = buildSnapshot(this.version, translate(this.model, proxy, options), this.cache);
        for (const w of snapshot.warnings) this.warnings.add(w);
      } catch (err) {
        // Remembered too: a thousand proxies of one class don't each pay for the same failure.
        snapshot = err instanceof Error ? err : new Error(String(err));
        this.warnings.add(`snapshot for ${proxy.kind} proxies in ${proxy.namespace}: ${snapshot.message}`);
      }
      this.memo.set(key, snapshot);
    }
    if (snapshot instanceof Error) throw snapshot;
    return snapshot;
  }

  /**
   * Checks this generation's snapshots against Envoy's field rules (new resources only) and returns the new
   * warnings. Called after a push, off its path: the warning comes before, or with, the proxies' NACKs.
   */
  checkRules(): string[] {
    const fresh: string[] = [];
    for (const s of this.memo.values()) {
      if (s instanceof Error) continue;
      for (const w of ruleWarnings(s)) {
        if (!this.warnings.has(w)) fresh.push(w);
        this.warnings.add(w);
      }
    }
    return fresh;
  }
}

/** What is wrong with the config as a whole: invalid objects (a proxy would NACK them) and unknown hosts. */
export function modelWarnings(model: ConfigModel): string[] {
  const out: string[] = [];
  const ctx = { destinationRules: model.destinationRules, domainSuffix: model.domainSuffix };
  for (const vs of model.virtualServices) {
    for (const e of validateVirtualService(vs, ctx)) out.push(`VirtualService/${vs.namespace}/${vs.name}: ${e}`);
  }
  for (const dr of model.destinationRules) {
    for (const e of validateDestinationRule(dr)) out.push(`DestinationRule/${dr.namespace}/${dr.name}: ${e}`);
  }
  return [...out, ...unmatchedHosts(model)];
}
