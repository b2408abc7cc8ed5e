// A request body as the upstream attempts see it: every byte once and in order, whatever the chunking, the pauses,
// the retries (replays) and the replay limit; bounded memory for a client that sends a byte at a time.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { RequestBody, type BodySink } from "./body.js";

/** A sink that takes what it is given, pausing when told to; `resume` lets the body go on. */
function collector(pauseEvery = 0): BodySink & { bytes: () => Buffer; ended: boolean; count: number } {
  const parts: Buffer[] = [];
  const c = {
    ended: false,
    count: 0,
    data(chunk: Buffer): boolean {
      parts.push(Buffer.from(chunk));
      c.count++;
      return pauseEvery === 0 || c.count % pauseEvery !== 0;
    },
    end(): void {
      c.ended = true;
    },
    bytes: () => Buffer.concat(parts),
  };
  return c;
}

/** What the body did with flow control: bytes given back to the client. */
class Counted extends RequestBody {
  credit = 0;
  protected override consumed(n: number): void {
    this.credit += n;
  }
}

const chunks = fc.array(
  fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.uint8Array({ minLength: 1000, maxLength: 3000 })),
  { maxLength: 40 },
);

describe("a request body", () => {
  it("gives the upstream every byte once, in order, through pauses, retries and the replay limit", () => {
    fc.assert(
      fc.property(chunks, fc.nat(6), fc.integer({ min: 1, max: 40_000 }), (parts, pauseEvery, limit) => {
        const body = new Counted(limit);
        const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
        const first = collector(pauseEvery);
        body.pipe(first);
        parts.forEach((p, i) => {
          body.push(Buffer.from(p));
          if (i % 3 === 2) body.resume();
        });
        body.end();
        for (let i = 0; i < 10 * parts.length + 2 && !first.ended; i++) body.resume();
        expect(first.bytes()).toEqual(all);
        expect(first.ended).toBe(true);
        expect(body.credit).toBe(all.length); // the client's window given back for every byte, once
        // A retry replays it all while it is within the limit, and can't once it wasn't.
        const again = collector();
        body.detach();
        const replayed = body.pipe(again);
        if (all.length <= limit) expect(replayed).toBe(true);
        // Never a body without its first bytes: whole, or refused.
        if (replayed) expect([again.bytes(), again.ended]).toEqual([all, true]);
      }),
    );
  });

  it("holds a byte-per-frame upload in shared stores, not a Buffer per byte", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const body = new RequestBody();
    let taken = 0;
    body.pipe({ data: (c) => (taken += c.length) > 0, end: () => undefined });
    const wire = Buffer.alloc(1_000_000, 7);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < wire.length; i++) body.push(wire.subarray(i, i + 1)); // kept for a retry: under the limit
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // A Buffer object per byte was ~100 MB of heap; the bytes themselves live outside it.
    expect(grown).toBeLessThan(8_000_000);
    expect(body.held).toBe(wire.length); // kept, for a retry (and alive while measured)
    expect(taken).toBe(wire.length);
  });

  it("rewrites what came and what comes through a transform, giving back the window of what it absorbed", () => {
    const body = new Counted();
    body.push(Buffer.from("QUJD")); // arrived before the filter ran
    const halve = { push: (c: Buffer) => c.subarray(0, Math.ceil(c.length / 2)), end: () => true };
    expect(body.setTransform(halve)).toBe(true);
    const sink = collector();
    body.pipe(sink);
    body.push(Buffer.from("xyz1"));
    body.end();
    expect(sink.bytes().toString()).toBe("QUxy");
    expect([body.received, body.credit]).toEqual([4, 8]);
  });

  it("stops at bytes the transform refuses, and says so once", () => {
    const body = new RequestBody();
    let refused = 0;
    body.onInvalid = () => refused++;
    const strict = { push: (c: Buffer) => (c.includes("!") ? undefined : c), end: () => true };
    expect(body.setTransform(strict)).toBe(true);
    const sink = collector();
    body.pipe(sink);
    body.push(Buffer.from("ok"));
    body.push(Buffer.from("no!"));
    body.push(Buffer.from("more"));
    body.end();
    expect([sink.bytes().toString(), sink.ended, refused, body.invalid]).toEqual(["ok", false, 1, true]);
  });

  it("keeps every byte for a retry already on its way when the body outgrows the limit between attempts", () => {
    const body = new RequestBody(1000);
    const first = collector();
    body.pipe(first);
    body.push(Buffer.alloc(600, "a")); // the first attempt takes it, then fails
    body.detach();
    body.push(Buffer.alloc(600, "b")); // over the limit with no attempt taking bytes: nothing may be let go
    const retry = collector();
    expect(body.pipe(retry)).toBe(true);
    body.end();
    expect([retry.bytes().toString(), retry.ended]).toEqual(["a".repeat(600) + "b".repeat(600), true]);
  });

  it("abandons a shadow still waiting for the rest when the request goes (the client reset mid-body)", () => {
    const body = new RequestBody();
    const shadow = new RequestBody(Infinity);
    let abandoned = 0;
    shadow.onAbandon = () => abandoned++;
    body.push(Buffer.from("part"));
    expect(body.tee(shadow)).toBe(true);
    body.dispose();
    expect(abandoned).toBe(1);
    const ended = new RequestBody();
    const done = new RequestBody(Infinity);
    done.onAbandon = () => abandoned++;
    ended.tee(done);
    ended.end();
    ended.dispose(); // a shadow given the whole body isn't abandoned
    expect([abandoned, done.ended]).toEqual([1, true]);
  });
});
