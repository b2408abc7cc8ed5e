// The one ADS client: one stream carrying every subscribed type, state of the world (StreamAggregatedResources) or
// incremental (DeltaAggregatedResources, `delta: true`). It resends its subscriptions (with the versions it ACKed,
// or, over delta, the resources it holds) on every new stream, ACKs or NACKs each response with what the caller's
// check says, and reconnects with jittered exponential backoff. Over delta, each response is shown to the check as
// a state-of-the-world one (applyDelta), so callers don't care which stream kind carries it; a server that doesn't
// implement delta gets state of the world instead. Used by the agent, the tests and the push benchmark.
import { GrpcChannel, Status, type ChannelOptions, type GrpcTls } from "./grpc.js";
import {
  STREAM_PATH,
  decodeResponse,
  decodeResponseHeader,
  encodeRequest,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type NodeInfo,
} from "./ads-wire.js";
import { WARMING_ORDER } from "./types.js";
import {
  DELTA_PATH,
  applyDelta,
  decodeDeltaResponse,
  encodeDeltaRequest,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type Held,
} from "./delta.js";

/**
 * A connection to an ADS server; many clients may share one (simulated proxies in a benchmark). `headersOnly`
 * decodes only version, type and nonce of each response (its resources arrive empty): for simulating many proxies
 * that don't use what they receive.
 */
export class AdsChannel extends GrpcChannel {
  constructor(
    address: string,
    options: ChannelOptions & { headersOnly?: boolean } = {},
    readonly headersOnly = options.headersOnly ?? false,
  ) {
    super(address, options);
  }
}

/** A channel to host:port, plaintext unless `tls` says otherwise (mTLS on 15012). */
export function adsChannel(address: string, options: ChannelOptions & { headersOnly?: boolean } = {}): AdsChannel {
  return new AdsChannel(address, options);
}

/** One stream, of either kind: each request written is the kind the stream was opened as. */
interface Stream {
  write(r: DiscoveryRequest | Partial<DeltaDiscoveryRequest>): void;
  cancel(): void;
}

/** Checks a response: undefined to ACK it, or the message to NACK it with. */
export type ResponseCheck = (response: DiscoveryResponse) => Promise<string | undefined> | string | undefined;

export interface AdsClientOptions {
  /** host:port of a plaintext xDS server, or a channel to share. */
  server: string | AdsChannel;
  node: NodeInfo;
  /**
   * Checks each response, one at a time, in arrival order; the client then ACKs or NACKs it. Without one, the
   * caller takes responses with next() and answers them with ack()/nack() (tests of the server).
   */
  onResponse?: ResponseCheck;
  /**
   * TLS for a `server` given as host:port, asked again for every (re)connection: xDS over mTLS presents the
   * workload certificate current at that time (certificates rotate). Default: plaintext.
   */
  credentials?: () => GrpcTls;
  /**
   * Incremental xDS: responses carry only what changed, ACKs only a nonce. Falls back to state of the world when the
   * server answers UNIMPLEMENTED. Default false.
   */
  delta?: boolean;
  /** Reconnect backoff, base and ceiling in ms, or false not to reconnect. Default [100, 5000]. */
  backoffMs?: [number, number] | false;
  log?(line: string): void;
}

interface Subscription {
  names: string[];
  /** The version and nonce of the last response ACKed ("" before the first). */
  version: string;
  nonce: string;
  /** Over delta: the resources held (taken from ACKed responses), and the names this stream was told. */
  held: Held;
  told?: string[];
}

const NACK_CODE = 3; // google.rpc.Code INVALID_ARGUMENT, as Envoy sends

export class AdsClient {
  private channel: AdsChannel;
  private readonly ownsChannel: boolean;
  private readonly subs = new Map<string, Subscription>();
  private stream: Stream | undefined;
  private failures = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> = Promise.resolve();
  /** Subscription changes made while a response is checked go out after its ACK/NACK, as Envoy orders them. */
  private deferred: Set<string> | undefined;
  private readonly queue: DiscoveryResponse[] = [];
  /** Over delta (until the server turns out not to speak it). */
  private delta: boolean;
  private readonly waiters: ((r: DiscoveryResponse) => void)[] = [];
  /** True once the current stream has delivered a response; false while disconnected. */
  connected = false;
  /** Why the stream last failed; cleared by the next response. */
  lastError: string | undefined;

  constructor(private readonly opts: AdsClientOptions) {
    this.delta = opts.delta ?? false;
    this.ownsChannel = typeof opts.server === "string";
    this.channel =
      typeof opts.server === "string" ? adsChannel(opts.server, { tls: opts.credentials?.() }) : opts.server;
    this.connect();
  }

  /** Subscribes to a type (no names: everything, for CDS and LDS), or changes its names; a no-op if unchanged. */
  subscribe(type: string, names: string[] = []): void {
    const sub = this.subs.get(type);
    const sorted = [...names].sort();
    if (sub && sub.names.join("\n") === sorted.join("\n")) return;
    this.subs.set(type, { version: "", nonce: "", held: new Map(), ...sub, names: sorted });
    if (this.deferred) this.deferred.add(type);
    else this.sendSubscription(type);
  }

  /** Over incremental xDS (false: state of the world, asked for or fallen back to). */
  get incremental(): boolean {
    return this.delta;
  }

  /** The names subscribed for a type, or undefined when it isn't. */
  subscribed(type: string): readonly string[] | undefined {
    return this.subs.get(type)?.names;
  }

  /** The version last ACKed for a type ("" before the first ACK). */
  ackedVersion(type: string): string {
    return this.subs.get(type)?.version ?? "";
  }

  /** Sends a type's subscription again as it stands (names, last ACKed version and nonce): an ACK repeated, so the
   * server sees a changed node (its metadata) without anything else changing. */
  resend(type: string): void {
    const sub = this.subs.get(type);
    if (sub && this.delta) this.deltaRequest({ type_url: type });
    else if (sub)
      this.request({ type_url: type, resource_names: sub.names, version_info: sub.version, response_nonce: sub.nonce });
  }

  /** Writes a request as given (the node is added): for tests that speak the protocol step by step. */
  request(r: Omit<DiscoveryRequest, "node">): void {
    this.stream?.write({ ...r, node: this.opts.node });
  }

  /** The next response not yet taken, in arrival order (only without an onResponse check). */
  next(): Promise<DiscoveryResponse> {
    const r = this.queue.shift();
    return r ? Promise.resolve(r) : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Responses received and not yet taken by next(). */
  pending(): number {
    return this.queue.length;
  }

  /** Writes a delta request (the node is added). */
  private deltaRequest(r: Partial<DeltaDiscoveryRequest>): void {
    this.stream?.write({ ...r, node: this.opts.node });
  }

  /** ACKs a response: the subscription's names, the response's version and nonce. */
  ack(r: DiscoveryResponse): void {
    const sub = this.subs.get(r.type_url);
    if (sub) Object.assign(sub, { version: r.version_info, nonce: r.nonce });
    if (this.delta) return this.deltaRequest({ type_url: r.type_url, response_nonce: r.nonce });
    this.request({
      type_url: r.type_url,
      resource_names: sub?.names ?? [],
      version_info: r.version_info,
      response_nonce: r.nonce,
    });
  }

  /** NACKs a response: the last ACKed version, the response's nonce, and why. */
  nack(r: DiscoveryResponse, error: string): void {
    const sub = this.subs.get(r.type_url);
    const error_detail = { code: NACK_CODE, message: error };
    if (this.delta) return this.deltaRequest({ type_url: r.type_url, response_nonce: r.nonce, error_detail });
    this.request({
      type_url: r.type_url,
      resource_names: sub?.names ?? [],
      version_info: sub?.version ?? "",
      response_nonce: r.nonce,
      error_detail,
    });
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
    if (this.ownsChannel) this.channel.close();
  }

  private connect(): void {
    if (this.stopped) return;
    const delta = this.delta;
    const call = this.channel.call(delta ? DELTA_PATH : STREAM_PATH);
    const stream: Stream = {
      write: (r) =>
        call.write(
          delta ? encodeDeltaRequest(r as Partial<DeltaDiscoveryRequest>) : encodeRequest(r as DiscoveryRequest),
        ),
      cancel: () => call.cancel(),
    };
    this.stream = stream;
    const decode = delta ? decodeDeltaResponse : this.channel.headersOnly ? decodeResponseHeader : decodeResponse;
    call.onMessage = (bytes) => {
      let r: DiscoveryResponse | DeltaDiscoveryResponse;
      try {
        r = decode(bytes);
      } catch (err) {
        lost(`an undecodable response: ${err instanceof Error ? err.message : String(err)}`);
        call.cancel();
        return;
      }
      this.connected = true;
      this.failures = 0;
      this.lastError = undefined;
      if (delta) this.receivedDelta(r as DeltaDiscoveryResponse);
      else this.received(r as DiscoveryResponse);
    };
    let closed = false;
    const lost = (why: string, code?: number): void => {
      if (closed) return;
      closed = true;
      this.connected = false;
      this.lastError = why;
      if (delta && code === Status.UNIMPLEMENTED && !this.stopped) {
        // A server from before delta xDS (discovery being upgraded, or another control plane).
        this.delta = false;
        this.opts.log?.("xds: the server doesn't implement incremental xDS; using state of the world");
        for (const sub of this.subs.values()) sub.held = new Map();
        this.connect();
        return;
      }
      if (this.stopped || this.opts.backoffMs === false) return;
      const [base, max] = this.opts.backoffMs ?? [100, 5000];
      const ceiling = Math.min(base * 2 ** this.failures++, max);
      const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      const to = typeof this.opts.server === "string" ? ` to ${this.opts.server}` : "";
      this.opts.log?.(`xds: stream${to} lost (${why}); reconnecting in ${delay} ms`);
      this.timer = setTimeout(() => {
        if (typeof this.opts.server === "string" && this.opts.credentials) {
          let tls: GrpcTls;
          try {
            tls = this.opts.credentials();
          } catch (err) {
            // The root certificate's file unreadable for a moment, say: try again later, never throw out of a timer
            // (that would end the agent).
            closed = false;
            lost(`no credentials: ${err instanceof Error ? err.message : String(err)}`);
            return;
          }
          this.channel.close();
          this.channel = adsChannel(this.opts.server, { tls });
        }
        this.connect();
      }, delay);
    };
    call.onStatus = (st) => (st.code === Status.OK ? lost("ended") : lost(`${st.code} ${st.details}`, st.code));
    // Resume: every subscription again, in warming order, with the version it last ACKed and no nonce.
    const rank = (t: string): number => {
      const i = (WARMING_ORDER as readonly string[]).indexOf(t);
      return i < 0 ? WARMING_ORDER.length : i;
    };
    for (const type of [...this.subs.keys()].sort((a, b) => rank(a) - rank(b))) this.sendSubscription(type, true);
  }

  private sendSubscription(type: string, fresh = false): void {
    const sub = this.subs.get(type);
    if (!sub) return;
    if (this.delta) {
      // On a new stream: every name, and what is held of them. Later: what changed since the stream was last told.
      const told = fresh ? [] : (sub.told ?? []);
      const had = new Set(told);
      const now = new Set(sub.names);
      const initial = fresh ? Object.fromEntries([...sub.held].map(([name, h]) => [name, h.version])) : {};
      sub.told = sub.names;
      this.deltaRequest({
        type_url: type,
        resource_names_subscribe: sub.names.filter((n) => !had.has(n)),
        resource_names_unsubscribe: told.filter((n) => !now.has(n)),
        initial_resource_versions: initial,
      });
      return;
    }
    this.request({
      type_url: type,
      resource_names: sub.names,
      version_info: sub.version,
      response_nonce: fresh ? "" : sub.nonce,
    });
  }

  /**
   * A delta response, shown to the check as state of the world: the whole of a type asked for by no names (CDS, LDS,
   * the engine), or the changed resources of a type asked by name. What is held changes once the response is ACKed.
   */
  private receivedDelta(d: DeltaDiscoveryResponse): void {
    const view: DiscoveryResponse = {
      version_info: d.system_version_info,
      type_url: d.type_url,
      nonce: d.nonce,
      resources: [],
    };
    this.received(view, () => {
      const sub = this.subs.get(d.type_url);
      if (!sub) return () => undefined;
      const { held, resources } = applyDelta(sub.held, d, sub.names.length === 0);
      view.resources = resources;
      return () => {
        sub.held = held;
      };
    });
  }

  /**
   * Hands a response to the check (or to next()), then ACKs or NACKs it. `prepare` (delta) fills in its resources
   * when its turn comes, returning what to do once it is ACKed; when it throws, the response is NACKed.
   */
  private received(r: DiscoveryResponse, prepare: () => () => void = () => () => undefined): void {
    const check = this.opts.onResponse;
    if (!check) {
      prepare()();
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
      return;
    }
    const stream = this.stream;
    this.checking = this.checking.then(async () => {
      this.deferred = new Set();
      let error: string | undefined;
      let commit = (): void => undefined;
      try {
        commit = prepare();
        error = await check(r);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const changed = this.deferred;
      this.deferred = undefined;
      if (stream !== this.stream) return; // answered on a stream that is gone; the new one resubscribed
      if (error === undefined) {
        commit();
        this.ack(r);
      } else this.nack(r, error);
      for (const type of changed) this.sendSubscription(type);
    });
  }
}
