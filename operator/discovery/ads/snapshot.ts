// A versioned, consistent set of resources for one proxy: what translate produced, encoded once for the wire,
// with a hash per resource so unchanged resources and unchanged snapshots cost nothing to push.
import { createHash } from "node:crypto";
import { appendRepeated, encodeMessage, encodeResource } from "../../../proxy/xds/codec.js";
import type { FramedResponse } from "../../../proxy/xds/ads.js";
import type { AnyMessage, JsonObject, SnapshotType } from "../../../proxy/xds/types.js";
import { SHORT_NAME, TYPE, WARMING_ORDER, resourceName } from "../../../proxy/xds/types.js";
import { anyRuleViolations, messageRuleViolations } from "../../../proxy/xds/rules.js";
import { edsNames, rdsNames, sdsNames } from "../../../proxy/xds/references.js";
import { CREDENTIAL_PREFIX } from "../model/credentials.js";
import type { TranslateResult } from "../translate/index.js";

export interface Entry {
  name: string;
  json: JsonObject;
  any: AnyMessage;
  hash: string;
  /** Envoy's field rules this resource breaks (a proxy would NACK it); checked off the push path, once. */
  problems?: string[];
  /** A RouteConfiguration's parts, checked one by one (`routeProblems`): its head, and its virtual hosts. */
  route?: { head: AnyMessage; hosts: VirtualHostPart[] };
}

/** One virtual host's bytes, shared by every RouteConfiguration that holds the same host object. */
interface VirtualHostPart {
  bytes: Buffer;
  hash: string;
  /** Its problems, with paths from the host (`@` stands for it). */
  problems?: string[];
}

export interface Snapshot {
  /** The config generation this snapshot was built from. */
  version: string;
  /** Over every resource of every type: equal hashes, equal config. */
  hash: string;
  resources: Map<SnapshotType, Map<string, Entry>>;
  warnings: string[];
  /** Selections already made from this snapshot, by type and names: most proxies ask for the same. */
  selections: Map<string, Selection>;
}

export interface Selection {
  /** Unique in the process: with the version, it makes the nonce of the response carrying this selection. */
  id: number;
  /** The names it was selected by. */
  names: string[] | "*";
  entries: Entry[];
  hash: string;
  /** The encoded DiscoveryResponse, made on first send and shared by every proxy that gets it. */
  response?: FramedResponse;
  /** What changed since earlier selections of the same names, by their ids ("3+5"): shared like `response`. */
  changes?: Map<string, Changes>;
  /** Incremental responses to a proxy holding another selection, by its id: shared like `response`. */
  deltas?: Map<number, Delta>;
}

/** What a proxy holding one selection needs to hold another: the entries to add or replace, the names to drop. */
export interface Delta {
  entries: Entry[];
  removed: string[];
  response?: FramedResponse;
  /** For a CDS delta: the EDS deltas that follow it, with the changed clusters' assignments (`rewarm`). */
  followers?: Map<string, Delta>;
}

/** The entries of a selection that differ from an earlier one of the same names, and their encoded response. */
export interface Changes {
  entries: Entry[];
  response?: FramedResponse;
}

let selections = 0;

/**
 * Encoded resources by their JSON text: proxies that share a resource share its bytes. Bounded. A resource object
 * seen before (memoised translation hands back the same object while its inputs are the same) is not even
 * serialised again. Resource objects are never changed once built.
 */
export class EncodeCache {
  private entries = new Map<string, Entry>();
  private readonly byObject = new WeakMap<JsonObject, Entry>();
  /** A virtual host's bytes and hash, by object: memoised translation reuses an unchanged one. */
  private readonly virtualHosts = new WeakMap<JsonObject, VirtualHostPart>();
  constructor(private readonly limit = 100_000) {}

  entry(type: string, json: JsonObject): Entry {
    const known = this.byObject.get(json);
    if (known) return known;
    const vhosts = type === TYPE.route ? json["virtual_hosts"] : undefined;
    const e = Array.isArray(vhosts) ? this.routeEntry(json, vhosts as JsonObject[]) : this.plainEntry(type, json);
    this.byObject.set(json, e);
    return e;
  }

  private plainEntry(type: string, json: JsonObject): Entry {
    const text = JSON.stringify(json);
    return this.shared(text, () => ({
      name: resourceName(type, json),
      json,
      any: encodeResource(json),
      hash: sha1(text),
    }));
  }

  /**
   * A RouteConfiguration, from its virtual hosts encoded one by one: a VirtualService change re-encodes the hosts
   * it routes, not the other hundreds in the table.
   */
  private routeEntry(json: JsonObject, vhosts: JsonObject[]): Entry {
    const head = { ...json, virtual_hosts: [] };
    const headText = JSON.stringify(head);
    const parts = vhosts.map((vh) => {
      let part = this.virtualHosts.get(vh);
      if (!part) {
        part = { bytes: encodeMessage(VIRTUAL_HOST, vh), hash: sha1(JSON.stringify(vh)) };
        this.virtualHosts.set(vh, part);
      }
      return part;
    });
    const hash = createHash("sha1").update(headText);
    for (const p of parts) hash.update(p.hash);
    const digest = hash.digest("base64url");
    return this.shared(`${TYPE.route} ${digest}`, () => {
      const packed = encodeResource(head);
      const value = appendRepeated(
        packed.value,
        VIRTUAL_HOSTS_FIELD,
        parts.map((p) => p.bytes),
      );
      const any = { type_url: packed.type_url, value };
      return { name: resourceName(TYPE.route, json), json, any, hash: digest, route: { head: packed, hosts: parts } };
    });
  }

  /** One entry per distinct resource, whichever proxy class made it. */
  private shared(key: string, make: () => Entry): Entry {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.limit) this.entries.clear();
      e = make();
      this.entries.set(key, e);
    }
    return e;
  }
}

const VIRTUAL_HOST = "envoy.config.route.v3.VirtualHost";
const VIRTUAL_HOSTS_FIELD = 2; // RouteConfiguration.virtual_hosts

const sha1 = (text: string): string => createHash("sha1").update(text).digest("base64url");

/**
 * A snapshot is consistent when the EDS names the clusters use and the ClusterLoadAssignments are the same set,
 * and so are the RDS names the listeners use and the RouteConfigurations.
 */
export function inconsistencies(result: TranslateResult): string[] {
  const problems: string[] = [];
  const eds = new Set(edsNames(result.clusters));
  const assignments = new Set(result.endpoints.map((e) => e.cluster_name ?? ""));
  for (const n of eds) if (!assignments.has(n)) problems.push(`EDS name "${n}" has no ClusterLoadAssignment`);
  for (const n of assignments) if (!eds.has(n)) problems.push(`ClusterLoadAssignment "${n}" belongs to no EDS cluster`);
  const rds = new Set(rdsNames(result.listeners));
  const routes = new Set(result.routes.map((r) => r.name ?? ""));
  for (const n of rds) if (!routes.has(n)) problems.push(`RDS name "${n}" has no RouteConfiguration`);
  for (const n of routes) if (!rds.has(n)) problems.push(`RouteConfiguration "${n}" belongs to no listener`);
  // Discovery's own Secrets (the agent holds `default` and `ROOTCA`): each one a listener names served, each served one
  // named. A cluster may name one that isn't (a DestinationRule's credentialName whose Secret is missing): the proxy
  // refuses its connections until it comes, as Envoy's cluster without its SDS secret.
  const own = (names: string[]) => new Set(names.filter((n) => n.startsWith(CREDENTIAL_PREFIX)));
  const sds = own(sdsNames(result.listeners, result.clusters));
  const secrets = new Set(result.secrets.map((s) => s.name ?? ""));
  for (const n of own(sdsNames(result.listeners))) if (!secrets.has(n)) problems.push(`SDS name "${n}" has no Secret`);
  for (const n of secrets) if (!sds.has(n)) problems.push(`Secret "${n}" belongs to no transport socket`);
  return problems;
}

export function buildSnapshot(version: string, result: TranslateResult, cache: EncodeCache): Snapshot {
  const problems = inconsistencies(result);
  if (problems.length) throw new Error(`inconsistent snapshot: ${problems.join("; ")}`);
  const byType: [SnapshotType, JsonObject[]][] = [
    [TYPE.cluster, result.clusters],
    [TYPE.endpoint, result.endpoints],
    [TYPE.listener, result.listeners],
    [TYPE.route, result.routes],
    [TYPE.secret, result.secrets],
  ];
  const resources = new Map<SnapshotType, Map<string, Entry>>();
  for (const [type, list] of byType) {
    const entries = new Map<string, Entry>();
    for (const json of list) {
      const e = cache.entry(type, json);
      entries.set(e.name, e);
    }
    resources.set(type, entries);
  }
  return { version, hash: snapshotHash(resources), resources, warnings: result.warnings, selections: new Map() };
}

/** Over what the snapshot serves (one resource per name), in warming order. */
function snapshotHash(resources: Map<SnapshotType, Map<string, Entry>>): string {
  const hash = createHash("sha1");
  for (const type of WARMING_ORDER) for (const e of resources.get(type)?.values() ?? []) hash.update(e.hash);
  return hash.digest("base64url");
}

/**
 * The snapshot with some ClusterLoadAssignments replaced, at a new version: an endpoints-only change. Undefined
 * when one of them names no cluster the snapshot has (then translate it anew). The other types' selections are
 * kept (their responses are encoded again, as the version is in them).
 */
export function withAssignments(prev: Snapshot, version: string, assignments: Entry[]): Snapshot | undefined {
  const eds = new Map(prev.resources.get(TYPE.endpoint));
  for (const e of assignments) {
    if (!eds.has(e.name)) return undefined;
    eds.set(e.name, e);
  }
  const resources = new Map(prev.resources);
  resources.set(TYPE.endpoint, eds);
  const selections = new Map<string, Selection>();
  for (const [key, sel] of prev.selections)
    if (!key.startsWith(`${TYPE.endpoint}\n`))
      selections.set(key, { id: sel.id, names: sel.names, entries: sel.entries, hash: sel.hash });
  return { version, hash: snapshotHash(resources), resources, warnings: prev.warnings, selections };
}

/** Resources of the snapshot that break Envoy's field rules; each resource is checked once, then remembered. */
export function ruleWarnings(snapshot: Snapshot): string[] {
  const out: string[] = [];
  for (const [type, entries] of snapshot.resources) {
    for (const e of entries.values()) {
      e.problems ??= (e.route ? routeProblems(e.route) : anyRuleViolations(e.any)).map(
        (v) => `${SHORT_NAME[type] ?? type} "${e.name}": ${v}`,
      );
      out.push(...e.problems);
    }
  }
  return out;
}

/**
 * A RouteConfiguration's problems, from its head and its virtual hosts, each host checked once whatever the number
 * of tables it is in: a VirtualService change checks the hosts it changed, not the other hundreds.
 */
function routeProblems(route: { head: AnyMessage; hosts: VirtualHostPart[] }): string[] {
  const out = anyRuleViolations(route.head);
  route.hosts.forEach((part, i) => {
    part.problems ??= messageRuleViolations(VIRTUAL_HOST, part.bytes, "@");
    for (const p of part.problems) out.push(`virtual_hosts[${i}]${p.slice(1)}`);
  });
  return out;
}

// Name lists arrive anew with every request, but a subscription keeps its list: key it once per list object. Lists
// with the same names (every proxy of a class has one) get the same short key, a digest of the names, so a lookup
// never compares 600 names and no long key is kept.
const keys = new WeakMap<string[], { type: string; key: string }>();
function selectionKey(type: string, names: string[] | "*"): string {
  if (names === "*") return `${type}\n*`;
  let k = keys.get(names);
  if (k?.type !== type) {
    k = { type, key: `${type}\n${sha1(names.join("\n"))}` };
    keys.set(names, k);
  }
  return k.key;
}

/**
 * The entries of `next` that any of `prevs` (earlier selections of the same names) didn't have as they are now. For
 * EDS and RDS, a state-of-the-world response may carry only these: a client keeps the named resources a response
 * leaves out (only LDS and CDS responses are the whole set). A proxy holds one of the earlier selections and it
 * isn't known which (the last ACKed, or a later one it hasn't answered yet), so the changes count from each.
 * Computed once per set, whatever the number of proxies.
 */
export function changesSince(next: Selection, ...prevs: Selection[]): Changes {
  next.changes ??= new Map();
  const key = prevs.map((p) => p.id).join("+");
  let changes = next.changes.get(key);
  if (!changes) {
    const befores = prevs.map((prev) => new Map(prev.entries.map((e) => [e.name, e.hash])));
    changes = { entries: next.entries.filter((e) => befores.some((before) => before.get(e.name) !== e.hash)) };
    // Proxies are at one or two earlier selections, rarely more: a few sets are kept, not every one ever asked.
    if (next.changes.size >= 8) next.changes.clear();
    next.changes.set(key, changes);
  }
  return changes;
}

/** The resources of one type a subscription asks for: everything for a wildcard, else the named ones. */
export function selectResources(snapshot: Snapshot, type: SnapshotType, names: string[] | "*"): Selection {
  const key = selectionKey(type, names);
  let selection = snapshot.selections.get(key);
  if (!selection) {
    const all = snapshot.resources.get(type) ?? new Map<string, Entry>();
    const entries =
      names === "*" ? [...all.values()] : names.map((n) => all.get(n)).filter((e): e is Entry => e !== undefined);
    const h = createHash("sha1");
    for (const e of entries) h.update(e.name).update(e.hash);
    selection = { id: ++selections, names, entries, hash: h.digest("base64url") };
    snapshot.selections.set(key, selection);
  }
  return selection;
}

/** What a proxy that was sent nothing yet holds. */
export const NOTHING: Selection = Object.freeze({ id: 0, names: [], entries: [], hash: "" });

/**
 * What a proxy holding `held` needs to hold `next`, incrementally: the entries that differ, and the names it holds
 * that `next` hasn't. An explicitly named resource that doesn't exist is said removed when first asked for, so the
 * proxy knows not to wait for it. Computed once per pair of selections, whatever the number of proxies.
 */
export function deltaSince(next: Selection, held: Selection): Delta {
  next.deltas ??= new Map();
  let delta = next.deltas.get(held.id);
  if (!delta) {
    delta = deltaFrom(next, holdings(held), new Set(held.names === "*" ? [] : held.names));
    // Proxies hold one of a few earlier selections: a few deltas are kept, not every one ever asked.
    if (next.deltas.size >= 8) next.deltas.clear();
    next.deltas.set(held.id, delta);
  }
  return delta;
}

/** What a proxy holding a selection holds, name by name: name → hash. */
export function holdings(held: Selection): Map<string, string> {
  return new Map(held.entries.map((e) => [e.name, e.hash]));
}

/**
 * The same for a proxy whose holdings are known name by name (it reconnected saying what it holds, or NACKed a
 * response): `held` maps each name to the hash of what it holds ("" when not known). A name in `asked` (by default
 * the held ones) was asked for before, so its absence was said already.
 */
export function deltaFrom(
  next: Selection,
  held: ReadonlyMap<string, string>,
  asked: ReadonlySet<string> | ReadonlyMap<string, string> = held,
): Delta {
  const entries = next.entries.filter((e) => held.get(e.name) !== e.hash);
  const now = new Set(next.entries.map((e) => e.name));
  const removed = [...held.keys()].filter((n) => !now.has(n));
  if (next.names !== "*") for (const n of next.names) if (!now.has(n) && !asked.has(n)) removed.push(n);
  return { entries, removed };
}

/**
 * An EDS delta that follows a CDS delta: it carries, changed or not, the assignment of every cluster the CDS delta
 * added or changed. Envoy warms an updated cluster until an assignment for it arrives, even an unchanged one
 * (xds_protocol.rst, "Resource warming"); without it the cluster would never finish warming. Shared by the proxies
 * that get the same two deltas when `key` names them (undefined: not shared).
 */
export function rewarm(eds: Delta, next: Selection, clusters: Delta, key: string | undefined): Delta {
  let out = key === undefined ? undefined : clusters.followers?.get(key);
  if (!out) {
    const warming = new Set(edsNames(clusters.entries.map((e) => e.json)));
    const carried = new Set(eds.entries.map((e) => e.name));
    const again = next.entries.filter((e) => warming.has(e.name) && !carried.has(e.name));
    out = again.length > 0 ? { entries: [...eds.entries, ...again], removed: eds.removed } : eds;
    if (key !== undefined) {
      clusters.followers ??= new Map();
      if (clusters.followers.size >= 8) clusters.followers.clear();
      clusters.followers.set(key, out);
    }
  }
  return out;
}

export { WARMING_ORDER };
