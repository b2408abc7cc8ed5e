// A request body read whole, for tests that drive a codec directly (the engine streams it upstream instead).
import type { RequestBody } from "../../../proxy/engine/http/body.js";

/** The body's bytes once it ends (taken as they come, so its codec keeps granting window). */
export function readAll(body: RequestBody | undefined): Promise<Buffer> {
  if (!body) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    body.pipe({
      data: (c) => parts.push(c) > 0,
      end: () => resolve(Buffer.concat(parts)),
    });
  });
}
