// One frame for every stream. grpc-js frames each message a server stream sends into a new buffer
// (BaseServerInterceptingCall.serializeMessage: flag, length, then a copy of the message). A response that hundreds of
// proxies get would be copied hundreds of times: most of a push's CPU, and a copy per stream held until it drains.
// A FramedResponse is framed once; on a stream passed through shareFrames, grpc-js sends that frame as it is.
import { FramedResponse } from "../../../proxy/xds/ads.js";

type Serialize = (value: unknown) => Buffer;

/**
 * Lets the stream send FramedResponses without a copy. False when this grpc-js has no per-call serializeMessage (a
 * version that changed its internals): the stream then still works, copying each message as grpc-js does.
 */
export function shareFrames(stream: object): boolean {
  const call = (stream as { call?: { serializeMessage?: unknown } }).call;
  const original = call?.serializeMessage;
  if (!call || typeof original !== "function") return false;
  const serialize = original as Serialize;
  call.serializeMessage = (value: unknown): Buffer =>
    value instanceof FramedResponse ? value.frame : serialize.call(call, value);
  return true;
}
