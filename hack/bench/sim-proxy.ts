// What the discovery benchmarks share: an Envoy-like ADS client that ACKs at once, and /proc readings.
import type { DiscoveryResponse } from "../../proxy/xds/ads.js";
import { AdsClient, type AdsChannel } from "../../proxy/xds/client.js";
import { decodeResource } from "../../proxy/xds/codec.js";
import type { JsonObject } from "../../proxy/xds/types.js";
import { TYPE } from "../../proxy/xds/types.js";
import { readFile } from "node:fs/promises";

export interface Names {
  eds: string[];
  rds: string[];
}

/** An Envoy-like proxy on the shared ADS client that ACKs at once and remembers when each type last arrived. */
export class SimProxy {
  private ads: AdsClient | undefined;
  readonly lastAt = new Map<string, number>();
  readonly acked = new Set<string>();

  constructor(
    private readonly channel: AdsChannel,
    private readonly id: string,
    private readonly learn?: (names: Names) => void,
    private readonly names?: Names,
    /** Sees every response as it arrives (bench:scale watches for one cluster's endpoints). */
    private readonly observe?: (r: DiscoveryResponse, at: number) => void,
  ) {}
  /** Responses received, by type. */
  readonly received = new Map<string, number>();

  start(): void {
    const ads = new AdsClient({
      server: this.channel,
      node: { id: this.id, user_agent_name: "envoy" },
      backoffMs: false,
      onResponse: (r) => this.onResponse(r),
    });
    this.ads = ads;
    ads.subscribe(TYPE.cluster);
    ads.subscribe(TYPE.listener);
  }

  private onResponse(r: DiscoveryResponse): undefined {
    const ads = this.ads;
    if (!ads) return undefined;
    const at = Date.now();
    this.lastAt.set(r.type_url, at);
    this.received.set(r.type_url, (this.received.get(r.type_url) ?? 0) + 1);
    this.observe?.(r, at);
    this.acked.add(r.type_url);
    if (r.type_url === TYPE.cluster && !ads.subscribed(TYPE.endpoint)) {
      const eds =
        this.names?.eds ??
        r.resources
          .map((a) => decodeResource(a))
          .filter((c) => c["type"] === "EDS")
          .map((c) => String(c["name"]));
      ads.subscribe(TYPE.endpoint, eds);
    }
    if (r.type_url === TYPE.listener && !ads.subscribed(TYPE.route)) {
      const rds = this.names?.rds ?? r.resources.flatMap((a) => routeNames(decodeResource(a)));
      ads.subscribe(TYPE.route, rds);
    }
    const eds = ads.subscribed(TYPE.endpoint);
    const rds = ads.subscribed(TYPE.route);
    if (this.learn && eds && rds) this.learn({ eds: [...eds], rds: [...rds] });
    return undefined;
  }

  get synced(): boolean {
    return this.acked.size === 4;
  }

  close(): void {
    this.ads?.close();
  }
}

function routeNames(listener: JsonObject): string[] {
  const text = JSON.stringify(listener);
  return [...text.matchAll(/"route_config_name":"([^"]+)"/g)].map((m) => m[1] ?? "");
}

/** A process's user and system CPU so far, in seconds (/proc/<pid>/stat's utime and stime, ticks of 1/100 s). */
export function cpuTimes(stat: string): { user: number; sys: number } {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
}

export async function cpuSeconds(pid: number): Promise<number> {
  const t = cpuTimes(await readFile(`/proc/${pid}/stat`, "utf8"));
  return t.user + t.sys;
}

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
