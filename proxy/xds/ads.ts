// The ADS gRPC service (envoy.service.discovery.v3.AggregatedDiscoveryService), with serializers built on the
// same protobufjs Root as the resource codec: the server's side (discovery); the client's is ads-wire.ts.
import type { ServiceDefinition } from "@grpc/grpc-js";
import { messageType } from "./protos.js";
import { decodeDeltaRequest, decodeRequestLazily } from "./request.js";
import {
  STREAM_PATH,
  decodeResponse,
  decodeResponseHeader,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "./ads-wire.js";
import { DELTA_PATH, decodeDeltaResponse, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from "./delta.js";

// The messages' types are the client's (ads-wire.ts), the server's too.
export type { DiscoveryRequest, DiscoveryResponse, NodeInfo } from "./ads-wire.js";

const REQUEST = "envoy.service.discovery.v3.DiscoveryRequest";
const RESPONSE = "envoy.service.discovery.v3.DiscoveryResponse";
const DELTA_REQUEST = "envoy.service.discovery.v3.DeltaDiscoveryRequest";
const DELTA_RESPONSE = "envoy.service.discovery.v3.DeltaDiscoveryResponse";

function encoder<T extends object>(name: string): (value: T) => Buffer {
  return (value) => {
    const type = messageType(name);
    return Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
  };
}

function decoder<T>(name: string, defaults: boolean): (bytes: Buffer) => T {
  return (bytes) => {
    const type = messageType(name);
    const plain = type.toObject(type.decode(bytes), { longs: String, enums: String, defaults, arrays: true });
    return plain as T;
  };
}

/** The server's reading of a whole request (request.ts reads it lazily, for the ADS server). */
export const decodeRequest = decoder<DiscoveryRequest>(REQUEST, true);
const encodeWhole = encoder<DiscoveryResponse>(RESPONSE);

/** A delta response, or one already encoded (shared by every stream that gets it) passed through. */
export const encodeDeltaResponse = (r: DeltaDiscoveryResponse | Buffer): Buffer =>
  Buffer.isBuffer(r) ? r : encoder<DeltaDiscoveryResponse>(DELTA_RESPONSE)(r);

/**
 * An encoded response inside its gRPC frame (flag byte, 4-byte length, message), built once and written to every
 * stream it goes to. grpc-js frames each message it sends into a new buffer, a copy of the whole; for a response
 * that hundreds of proxies get, that copy is most of a push's CPU and a copy per stream in memory.
 * `shareFrames` (operator/discovery/ads/frames.ts) lets a server stream send the frame itself.
 */
export class FramedResponse {
  readonly frame: Buffer;
  constructor(message: Buffer) {
    this.frame = Buffer.allocUnsafeSlow(message.length + 5);
    this.frame.writeUInt8(0, 0); // not compressed
    this.frame.writeUInt32BE(message.length, 1);
    message.copy(this.frame, 5);
  }
  get message(): Buffer {
    return this.frame.subarray(5);
  }
}

/**
 * Serializes a response; a Buffer is taken as already encoded, so one encoding can go to many proxies, and so is a
 * FramedResponse on a stream where frames aren't shared.
 */
export function encodeResponse(value: DiscoveryResponse | Buffer | FramedResponse): Buffer {
  if (value instanceof FramedResponse) return value.message;
  return Buffer.isBuffer(value) ? value : encodeWhole(value);
}

const STREAM = {
  path: STREAM_PATH,
  requestStream: true,
  responseStream: true,
  // grpc-js clients (tests, benches) write with protobufjs, any field they are given; the agent with ads-wire.ts.
  requestSerialize: encoder<DiscoveryRequest>(REQUEST),
  requestDeserialize: decodeRequestLazily, // the server's side: names and node decoded when read
  responseSerialize: encodeResponse,
  responseDeserialize: decodeResponse,
};

const DELTA = {
  path: DELTA_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: encoder<DeltaDiscoveryRequest>(DELTA_REQUEST),
  requestDeserialize: decodeDeltaRequest,
  responseSerialize: (value: Parameters<typeof encodeDeltaResponse>[0] | FramedResponse): Buffer =>
    value instanceof FramedResponse ? value.message : encodeDeltaResponse(value),
  responseDeserialize: decodeDeltaResponse,
};

/**
 * The ADS service for grpc-js: `server.addService(adsService, handlers)` or `makeGenericClientConstructor`. Both
 * stream kinds: state of the world, and incremental (delta).
 */
export const adsService = {
  StreamAggregatedResources: STREAM,
  DeltaAggregatedResources: DELTA,
} satisfies ServiceDefinition;

/** The same, for clients that read only version, type and nonce of each response (simulated proxies). */
export const adsHeaderService = {
  StreamAggregatedResources: { ...STREAM, responseDeserialize: decodeResponseHeader },
  DeltaAggregatedResources: DELTA,
} satisfies ServiceDefinition;
