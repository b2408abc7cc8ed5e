// An Envoy-like proxy for the integration suites, on the shared ADS client (proxy/xds/client.ts): it subscribes
// CDS and LDS, then EDS and RDS by the names they carry, checks every response as a proxy would (Envoy's field
// rules; route tables compiled by the proxy engine's own compiler), ACKs what passes, NACKs what doesn't with
// the error, and keeps the last good config it holds.
import { compileRouteConfig } from "../../../proxy/engine/config/routes.js";
import type { DiscoveryResponse } from "../../../proxy/xds/ads.js";
import { decodeResource } from "../../../proxy/xds/codec.js";
import { envoyRuleViolations } from "../../../proxy/xds/rules.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { AdsClient } from "../../../proxy/xds/client.js";

type Resources = Map<string, JsonObject>;
interface ClusterLoadAssignment {
  endpoints?: {
    lb_endpoints?: { endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } } }[];
  }[];
}

export class CheckingProxy {
  private readonly ads: AdsClient;
  /** The config in use: per type, the resources of the last response that passed. */
  readonly active = new Map<string, Resources>();
  readonly ackedVersion = new Map<string, string>();
  readonly nacks: { type: string; version: string; error: string }[] = [];
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];
  private closed = false;

  constructor(
    target: string,
    readonly nodeId: string,
  ) {
    this.ads = new AdsClient({
      server: target,
      node: { id: nodeId, user_agent_name: "envoy" },
      backoffMs: false,
      onResponse: (r) => this.onResponse(r),
    });
    this.ads.subscribe(TYPE.cluster);
    this.ads.subscribe(TYPE.listener);
  }

  private onResponse(r: DiscoveryResponse): string | undefined {
    if (this.closed) return undefined;
    const error = this.handle(r);
    // Waiters look once the ACK/NACK is out: the client writes it right after this returns.
    setImmediate(() => {
      for (const w of [...this.waiters]) {
        if (w.test()) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
    return error;
  }

  private handle(r: DiscoveryResponse): string | undefined {
    const resources: Resources = new Map();
    for (const any of r.resources) {
      const json = decodeResource(any);
      resources.set(String(json["name"] ?? json["cluster_name"] ?? ""), json);
    }
    const error = this.check(r.type_url, resources);
    if (error) {
      this.nacks.push({ type: r.type_url, version: r.version_info, error });
      return error;
    }
    // EDS and RDS responses may carry only what changed: the assignments and tables they leave out are kept, as
    // Envoy, grpc-js-xds and Weft's agent keep them. CDS and LDS responses are the whole set.
    const partial = r.type_url === TYPE.endpoint || r.type_url === TYPE.route;
    this.active.set(r.type_url, partial ? new Map([...(this.active.get(r.type_url) ?? []), ...resources]) : resources);
    this.ackedVersion.set(r.type_url, r.version_info);
    if (r.type_url === TYPE.cluster) {
      this.follow(
        TYPE.endpoint,
        [...resources.values()].filter((c) => c["type"] === "EDS").map((c) => String(c["name"])),
      );
    } else if (r.type_url === TYPE.listener) {
      const text = JSON.stringify([...resources.values()]);
      this.follow(TYPE.route, [
        ...new Set([...text.matchAll(/"route_config_name":"([^"]+)"/g)].map((m) => m[1] ?? "")),
      ]);
    }
    return undefined;
  }

  /** Subscribes to EDS or RDS names (sent after this response's ACK; nothing when unchanged). */
  private follow(type: string, names: string[]): void {
    this.ads.subscribe(type, names);
  }

  /**
   * A reason of this proxy's own to refuse a resource, as a real proxy refuses a listener on a port another process
   * holds: what no validation at the door can see. Tests set it to provoke a NACK of valid config.
   */
  refuse: ((type: string, json: JsonObject) => string | undefined) | undefined;

  /** What a proxy would reject the response for, or undefined. */
  private check(type: string, resources: Resources): string | undefined {
    for (const [name, json] of resources) {
      const refused = this.refuse?.(type, json);
      if (refused) return `${name}: ${refused}`;
      const violations = envoyRuleViolations(json);
      if (violations.length) return `${name}: ${violations.join("; ")}`;
      if (type === TYPE.route) {
        try {
          compileRouteConfig(json, (cluster) => this.clusters().includes(cluster));
        } catch (err) {
          return (err as Error).message;
        }
      }
    }
    return undefined;
  }

  clusters(): string[] {
    return [...(this.active.get(TYPE.cluster)?.keys() ?? [])].sort();
  }

  /** The endpoint addresses (ip:port) the proxy holds for an EDS cluster. */
  endpoints(cluster: string): string[] {
    const cla = this.active.get(TYPE.endpoint)?.get(cluster) as ClusterLoadAssignment | undefined;
    const sockets = (cla?.endpoints ?? []).flatMap((l) =>
      (l.lb_endpoints ?? []).map((e) => e.endpoint?.address?.socket_address),
    );
    return sockets.map((a) => `${a?.address ?? ""}:${a?.port_value ?? ""}`).sort();
  }

  routes(): Resources {
    return this.active.get(TYPE.route) ?? new Map();
  }

  /** Resolves once test() holds after some response (or already holds). */
  until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`proxy ${this.nodeId}: never saw ${what} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  close(): void {
    this.closed = true;
    this.ads.close();
  }
}
