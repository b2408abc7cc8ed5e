// The keys of the RequestAuthentications' jwksUris (and of issuers' OpenID discovery documents), fetched by discovery
// and inlined into the proxies' jwt_authn filters, as istiod does by default (pilot/pkg/model/jwks_resolver.go):
// fetched when first named (translation waits, at most the rule's timeout), refreshed every 20 minutes (every minute
// after a failure), forgotten when no rule names them. Bounded: 1 MiB a document, https verified against the system's
// CAs, redirects not followed. A document that isn't a JWKS with a key the proxy verifies with is a failure. Until a
// source's first fetch succeeds, translation inlines keys no token verifies with (fail closed); after a failed
// refresh the last good keys stay. Failures are logged and listed (problems()).
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseJwks } from "../../../proxy/engine/jwt/jwks.js";

export const JWKS_MAX_BYTES = 1024 * 1024;
/** istiod's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL default, and JwtPubKeyRefreshIntervalOnFailure. */
export const JWKS_REFRESH_MS = 20 * 60_000;
export const JWKS_RETRY_MS = 60_000;

export type Fetch = (url: string, timeoutMs: number) => Promise<string>;

/** One GET, bounded in time and size; https verified. Rejects on a status other than 200. */
export const fetchText: Fetch = (url, timeoutMs) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const get = u.protocol === "https:" ? httpsRequest : httpRequest;
    const req = get(
      u,
      { method: "GET", timeout: timeoutMs, headers: { accept: "application/json" } },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`status ${res.statusCode ?? 0}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > JWKS_MAX_BYTES) return req.destroy(new Error(`larger than ${JWKS_MAX_BYTES} bytes`));
          chunks.push(c);
        });
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });

interface Entry {
  discover: boolean;
  timeoutMs: number;
  keys?: string;
  error?: string;
  timer?: NodeJS.Timeout;
  inFlight?: Promise<void>;
}

export interface JwksResolverOptions {
  /** A source's keys changed (first fetched, refreshed to others): translate again. */
  onChange: () => void;
  onError?: (source: string, error: string) => void;
  fetch?: Fetch;
  refreshMs?: number;
  retryMs?: number;
}

export class JwksResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly fetchFn: Fetch;
  private stopped = false;

  constructor(private readonly opts: JwksResolverOptions) {
    this.fetchFn = opts.fetch ?? fetchText;
  }

  private snapshot: Readonly<Record<string, string>> | undefined;

  /** The keys fetched so far, by source; the same object until they change (so an unchanged model stays unchanged);
   * undefined when there are none. */
  keys(): Readonly<Record<string, string>> | undefined {
    const out: Record<string, string> = {};
    for (const [k, e] of this.entries) if (e.keys !== undefined) out[k] = e.keys;
    const prev = this.snapshot;
    const same =
      prev !== undefined &&
      Object.keys(prev).length === Object.keys(out).length &&
      Object.entries(out).every(([k, v]) => prev[k] === v);
    if (!same) this.snapshot = Object.keys(out).length ? out : undefined;
    return this.snapshot;
  }

  /** Whether tracking these sources would fetch one not fetched yet (the caller then waits for track()). */
  wouldFetch(sources: ReadonlyMap<string, unknown>): boolean {
    for (const k of sources.keys()) if (!this.entries.has(k) || this.entries.get(k)?.inFlight) return true;
    return false;
  }

  /** Sources whose keys could not be had, and why. */
  problems(): string[] {
    return [...this.entries]
      .filter(([, e]) => e.error !== undefined)
      .map(
        ([k, e]) => `jwks ${k}: ${e.error as string}${e.keys ? " (the last good keys stay)" : " (every token fails)"}`,
      );
  }

  /** Tracks exactly these sources: fetches the new ones (resolves once each was tried), forgets the others. */
  async track(sources: ReadonlyMap<string, { discover: boolean; timeoutMs: number }>): Promise<void> {
    for (const [k, e] of this.entries)
      if (!sources.has(k)) {
        clearTimeout(e.timer);
        this.entries.delete(k);
      }
    const waits: Promise<void>[] = [];
    for (const [k, s] of sources) {
      const e = this.entries.get(k);
      if (e) {
        e.timeoutMs = s.timeoutMs;
        if (e.inFlight) waits.push(e.inFlight);
        continue;
      }
      const entry: Entry = { discover: s.discover, timeoutMs: s.timeoutMs };
      this.entries.set(k, entry);
      waits.push(this.refresh(k, entry, false));
    }
    await Promise.all(waits);
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
  }

  private async load(source: string, e: Entry): Promise<string> {
    let url = source;
    if (e.discover) {
      const doc: unknown = JSON.parse(await this.fetchFn(source, e.timeoutMs));
      const uri = doc !== null && typeof doc === "object" ? (doc as Record<string, unknown>).jwks_uri : undefined;
      if (typeof uri !== "string" || !/^https?:\/\//.test(uri))
        throw new Error("the discovery document has no jwks_uri");
      url = uri;
    }
    const text = await this.fetchFn(url, e.timeoutMs);
    if (!parseJwks(text).length) throw new Error("not a JWKS with a public key the proxies verify with");
    return text;
  }

  private refresh(source: string, e: Entry, notify: boolean): Promise<void> {
    const run = async () => {
      let changed = false;
      try {
        const keys = await this.load(source, e);
        changed = keys !== e.keys;
        e.keys = keys;
        e.error = undefined;
      } catch (err) {
        e.error = err instanceof Error ? err.message : String(err);
        this.opts.onError?.(source, e.error);
      }
      e.inFlight = undefined;
      if (this.stopped || this.entries.get(source) !== e) return;
      e.timer = setTimeout(
        () => void this.refresh(source, e, true),
        e.error ? (this.opts.retryMs ?? JWKS_RETRY_MS) : (this.opts.refreshMs ?? JWKS_REFRESH_MS),
      );
      e.timer.unref();
      if (changed && notify) this.opts.onChange();
    };
    e.inFlight = run();
    return e.inFlight;
  }
}
