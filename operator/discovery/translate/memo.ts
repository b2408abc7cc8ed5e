// Translation memoised per object: what translate made for one service (its clusters and assignments, its virtual
// hosts) is kept with the exact inputs it read, and reused while they are the same objects. Models are immutable and
// the incremental model keeps an unchanged object's identity, so a VirtualService change re-translates only the
// services it routes, and an unchanged resource keeps its identity, which the encode cache is keyed by.
// One memo serves every proxy class: each key names what the computation reads from the proxy.
import type { ConfigModel, Service } from "../model/config.js";

interface Memoised<T> {
  deps: readonly unknown[];
  value: T;
  /** Warnings the computation gave: a reused value gives them again. */
  warnings: string[];
}

const same = (a: readonly unknown[], b: readonly unknown[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class TranslateMemo {
  private readonly tables = new Map<string, WeakMap<Service, Map<string, Memoised<unknown>>>>();
  private readonly pruned = new WeakMap<object, object>();
  private services: Service[] = [];
  /**
   * Replaced when the services change in anything but their endpoints (one came or went, moved, or changed a port,
   * an address, its selector): what reads other services than its own (a route's destinations) depends on it.
   */
  shape: object = {};
  hits = 0;
  misses = 0;

  /** Tells the memo about the model translated next. */
  model(model: ConfigModel): void {
    if (model.services !== this.services && !sameShape(this.services, model.services)) this.shape = {};
    this.services = model.services;
  }

  /**
   * `compute()`'s value for (table, service, key), computed again only when one of `deps` is not the same object (or
   * value) as when it was computed. `deps` must name every input the computation reads besides the service and what
   * the proxy class fixes. Warnings given through `warn` are replayed on reuse.
   */
  get<T>(
    table: string,
    service: Service,
    key: string,
    deps: readonly unknown[],
    warn: (message: string) => void,
    compute: (warn: (message: string) => void) => T,
  ): T {
    let byService = this.tables.get(table);
    if (!byService) this.tables.set(table, (byService = new WeakMap()));
    let entries = byService.get(service);
    if (!entries) byService.set(service, (entries = new Map()));
    const found = entries.get(key) as Memoised<T> | undefined;
    if (found && same(found.deps, deps)) {
      this.hits++;
      for (const w of found.warnings) warn(w);
      return found.value;
    }
    this.misses++;
    const warnings: string[] = [];
    const value = compute((m) => {
      warnings.push(m);
      warn(m);
    });
    entries.set(key, { deps, value, warnings });
    return value;
  }

  /** `prune(json)`, once per object: a reused resource stays the same object, so it is encoded only once. */
  prune<T>(json: T, prune: (j: T) => T): T {
    if (typeof json !== "object" || json === null) return prune(json);
    const object: object = json;
    let out = this.pruned.get(object) as T | undefined;
    if (!out) {
      out = prune(json);
      this.pruned.set(object, out as object);
    }
    return out;
  }
}

/** Whether two service lists are the same but for endpoints. */
function sameShape(a: Service[], b: Service[]): boolean {
  return a.length === b.length && a.every((x, i) => sameButEndpoints(x, b[i] as Service));
}

/** Whether two services differ in their endpoints only (or not at all). */
export function sameButEndpoints(x: Service, y: Service): boolean {
  if (x === y) return true;
  const { endpoints: _x, ...restX } = x;
  const { endpoints: _y, ...restY } = y;
  return JSON.stringify(restX) === JSON.stringify(restY);
}
