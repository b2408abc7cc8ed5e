// A lean simulated proxy for the discovery benchmarks: hundreds of them share this one process, where in a cluster
// each has its own. It speaks ADS over raw HTTP/2 and reads of each response only its version, type and nonce,
// skipping the resources' bytes as they stream past: no message is assembled, so the process that hosts the
// clients spends its CPU on bytes arriving, not on copies and garbage, and the figures are discovery's. Like Envoy
// with `set_node_on_first_message_only` (Istio's setting), it sends its node once per stream.
//
// Over incremental xDS (`delta`, as the agent runs by default) it ACKs with a nonce alone; a DeltaDiscoveryResponse
// has its version, type and nonce at the same field numbers as a DiscoveryResponse, so the same skimmer reads both.
//
// Each proxy has its own connection, as each Envoy has. Multiplexed over shared connections, the simulated proxies
// stalled one another: Node's HTTP/2 stops reading a socket while a write to it is pending, so a burst of ACKs on
// a connection that discovery was filling held a whole VirtualService push for 300 ms. The connection is spoken on a
// raw socket (`h2-call.ts`), not Node's HTTP/2 client, which handed each 16 KB DATA frame to JavaScript in a new
// buffer: at 500 proxies and a 1.1 MB route table, the one process reading 550 MB per change was what the figures
// measured.
import protobuf from "protobufjs";
import type { DiscoveryResponse } from "../../proxy/xds/ads.js";
import { messageType } from "../../proxy/xds/protos.js";
import { TYPE } from "../../proxy/xds/types.js";
import type { Names } from "./sim-proxy.js";
import { DELTA_PATH, encodeDeltaRequest } from "../../proxy/xds/delta.js";
import { H2Call } from "./h2-call.js";

const PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

/** DiscoveryResponse fields read: version_info, type_url, nonce. Everything else (resources) is skipped. */
const VERSION = 1;
const TYPE_URL = 4;
const NONCE = 5;

const EMPTY = Buffer.alloc(0);

/**
 * Reads gRPC-framed DiscoveryResponses from a stream's chunks, keeping only the small fields. Bytes of the fields it
 * skips are never copied; only a few bytes of a field head split over two chunks are.
 */
export class ResponseSkimmer {
  private rest: Buffer = EMPTY;
  private skip = 0; // bytes of a skipped field still to come
  private left = -1; // bytes of the current message still to come; -1 between messages
  private version = "";
  private type = "";
  private nonce = "";

  constructor(private readonly emit: (r: DiscoveryResponse) => void) {}

  push(chunk: Buffer): void {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    let i = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        this.left -= n;
        i += n;
        if (this.skip > 0) break;
      } else if (this.left < 0) {
        if (buf.length - i < 5) break;
        this.left = buf.readUInt32BE(i + 1);
        i += 5;
        this.version = this.type = this.nonce = "";
      } else if (this.left > 0) {
        const read = this.field(buf, i);
        if (read === 0) break;
        i += read;
        this.left -= read;
      }
      if (this.left === 0) {
        this.left = -1;
        this.emit({ version_info: this.version, type_url: this.type, nonce: this.nonce, resources: [] });
      }
    }
    this.rest = i < buf.length ? Buffer.from(buf.subarray(i)) : EMPTY; // a copy: `chunk` may be a reused buffer
  }

  /** Reads one field's head (and its value, if kept) at `i`; the bytes read, or 0 when they haven't all come. */
  private field(buf: Buffer, i: number): number {
    const tag = varint(buf, i);
    if (!tag) return 0;
    let at = i + tag.size;
    switch (tag.value & 7) {
      case 0: {
        const v = varint(buf, at);
        return v ? at + v.size - i : 0;
      }
      case 1:
        return at + 8 <= buf.length ? at + 8 - i : 0;
      case 5:
        return at + 4 <= buf.length ? at + 4 - i : 0;
      case 2: {
        const len = varint(buf, at);
        if (!len) return 0;
        at += len.size;
        const field = tag.value >>> 3;
        if (field !== VERSION && field !== TYPE_URL && field !== NONCE) {
          this.skip = len.value; // the loop skips it, over as many chunks as it takes
          return at - i;
        }
        if (at + len.value > buf.length) return 0;
        const text = buf.toString("utf8", at, at + len.value);
        if (field === VERSION) this.version = text;
        else if (field === TYPE_URL) this.type = text;
        else this.nonce = text;
        return at + len.value - i;
      }
      default:
        throw new Error(`unsupported wire type ${tag.value & 7} in a DiscoveryResponse`);
    }
  }
}

function varint(buf: Buffer, i: number): { value: number; size: number } | undefined {
  let value = 0;
  for (let k = 0; k < 5 && i + k < buf.length; k++) {
    const b = buf[i + k] ?? 0;
    value += (b & 0x7f) * 2 ** (7 * k);
    if (b < 0x80) return { value, size: k + 1 };
  }
  return undefined;
}

/** A request's bytes: the parts that stay (node, names, type) encoded once, version and nonce added per ACK. */
function requestPrefix(type: string, names: string[], node?: object): Buffer {
  const t = messageType("envoy.service.discovery.v3.DiscoveryRequest");
  return Buffer.from(t.encode(t.fromObject({ type_url: type, resource_names: names, node })).finish());
}

function framed(prefix: Buffer, version: string, nonce: string): Buffer {
  const w = protobuf.Writer.create();
  if (version) w.uint32((VERSION << 3) | 2).string(version);
  if (nonce) w.uint32((NONCE << 3) | 2).string(nonce);
  return frame(prefix, w.finish());
}

function frame(...parts: Uint8Array[]): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(
    parts.reduce((n, p) => n + p.length, 0),
    1,
  );
  return Buffer.concat([head, ...parts]);
}

/** A delta ACK: the type and the nonce, nothing else. */
function deltaAck(type: string, nonce: string): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((2 << 3) | 2).string(type); // type_url
  w.uint32((6 << 3) | 2).string(nonce); // response_nonce
  return frame(w.finish());
}

/**
 * An Envoy-like proxy that ACKs every response at once with the names it subscribed, over one ADS stream: CDS and
 * LDS, then EDS and RDS with the names it is given. It remembers when each type last arrived.
 */
export class LeanProxy {
  readonly lastAt = new Map<string, number>();
  readonly acked = new Set<string>();
  readonly received = new Map<string, number>();
  private stream: H2Call | undefined;
  private readonly prefixes = new Map<string, Buffer>();
  private nodeSent = false;
  private closed = false;
  private attempts = 0;

  constructor(
    private readonly address: string,
    private readonly id: string,
    private readonly names: Names,
    private readonly observe?: (r: DiscoveryResponse, at: number) => void,
    /** Incremental xDS (DeltaAggregatedResources) instead of state of the world. */
    private readonly delta = false,
  ) {}

  start(): void {
    this.prefixes.clear();
    this.nodeSent = false;
    const skimmer = new ResponseSkimmer((r) => this.onResponse(r));
    this.stream = new H2Call(this.address, this.delta ? DELTA_PATH : PATH, {
      onData: (chunk) => skimmer.push(chunk),
      onEnd: () => {
        // Thousands of proxies connecting at once overflow discovery's accept queue, and the kernel resets some: those
        // connect again after a while, as Envoy would. A stream that ends after its first response stays ended,
        // which leaves the proxy unsynced, and the bench reports it.
        if (this.closed || this.received.size > 0 || ++this.attempts > 20) return;
        setTimeout(() => this.closed || this.start(), 200 + Math.random() * 800);
      },
    });
    this.send(TYPE.cluster, [], "", "");
    this.send(TYPE.listener, [], "", "");
  }

  private send(type: string, names: string[], version: string, nonce: string): void {
    if (this.delta) return this.sendDelta(type, names, nonce);
    let prefix = this.prefixes.get(type);
    if (!prefix) {
      const node = this.nodeSent ? undefined : { id: this.id, user_agent_name: "envoy" };
      this.nodeSent = true;
      prefix = requestPrefix(type, names, node);
      // Later requests of this type carry no node.
      this.prefixes.set(type, node ? requestPrefix(type, names) : prefix);
    }
    this.stream?.write(framed(prefix, version, nonce));
  }

  /** The first request of a type subscribes (no names: everything); later ones ACK by nonce. */
  private sendDelta(type: string, names: string[], nonce: string): void {
    if (nonce) return void this.stream?.write(deltaAck(type, nonce));
    const node = this.nodeSent ? undefined : { id: this.id, user_agent_name: "envoy" };
    this.nodeSent = true;
    this.prefixes.set(type, Buffer.alloc(0)); // subscribed
    this.stream?.write(frame(encodeDeltaRequest({ node, type_url: type, resource_names_subscribe: names })));
  }

  private onResponse(r: DiscoveryResponse): void {
    const at = Date.now();
    this.lastAt.set(r.type_url, at);
    this.received.set(r.type_url, (this.received.get(r.type_url) ?? 0) + 1);
    this.observe?.(r, at);
    const names = r.type_url === TYPE.endpoint ? this.names.eds : r.type_url === TYPE.route ? this.names.rds : [];
    this.send(r.type_url, names, r.version_info, r.nonce);
    this.acked.add(r.type_url);
    if (r.type_url === TYPE.cluster && !this.prefixes.has(TYPE.endpoint))
      this.send(TYPE.endpoint, this.names.eds, "", "");
    if (r.type_url === TYPE.listener && !this.prefixes.has(TYPE.route)) this.send(TYPE.route, this.names.rds, "", "");
  }

  get synced(): boolean {
    return this.acked.size === 4;
  }

  close(): void {
    this.closed = true;
    this.stream?.close();
  }
}
