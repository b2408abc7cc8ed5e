// TLS ClientHellos built by hand, for the TLS inspector's tests: the message, its extensions, and the TLS records a
// client may split it into.

const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);

/** One extension: its type, then its data after a 2-byte length. */
export const extension = (type: number, data: Buffer): Buffer => Buffer.concat([u16(type), u16(data.length), data]);

/** server_name with these (type, name) entries; one host_name when given a string. */
export function sniExtension(...entries: (string | [number, Buffer])[]): Buffer {
  const list = Buffer.concat(
    entries.map((e) => {
      const [type, name] = typeof e === "string" ? [0, Buffer.from(e, "latin1")] : e;
      return Buffer.concat([Buffer.from([type]), u16(name.length), name]);
    }),
  );
  return extension(0, Buffer.concat([u16(list.length), list]));
}

/** application_layer_protocol_negotiation offering `names`. */
export function alpnExtension(...names: string[]): Buffer {
  const list = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n, "latin1")])));
  return extension(16, Buffer.concat([u16(list.length), list]));
}

/** A ClientHello handshake message (one TLS 1.3 suite, null compression) with these extensions (none: no block). */
export function helloMessage(extensions: Buffer | undefined): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7), // random
    Buffer.from([0]), // session id
    u16(2),
    u16(0x1301),
    Buffer.from([1, 0]), // null compression
    ...(extensions ? [u16(extensions.length), extensions] : []),
  ]);
  return Buffer.concat([Buffer.from([1, 0]), u16(body.length), body]);
}

/** A message in handshake records of the sizes given (cycled; at most 2^14 each), as a client may split a large one. */
export function inRecords(message: Buffer, sizes: number[] = [16384]): Buffer {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < message.length; i++) {
    const n = Math.min(message.length - at, Math.max(1, sizes[i % sizes.length] ?? 1));
    out.push(Buffer.from([0x16, 3, 1]), u16(n), message.subarray(at, at + n));
    at += n;
  }
  return Buffer.concat(out);
}

/** A ClientHello record around `extensions`. */
export const hello = (extensions: Buffer | undefined): Buffer => inRecords(helloMessage(extensions));
