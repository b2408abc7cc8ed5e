// The webhooks: HTTPS, POST /validate (and /inject, see injector/) with an AdmissionReview v1. VirtualServices and DestinationRules
// that a proxy would NACK are denied with messages that name the field (validate/); other objects pass. What would be
// accepted but not do what it says (validate/gateway-subnets.ts) comes back as the response's `warnings`, which
// kubectl prints as "Warning: ...".
import { createServer } from "node:https";
import type { Server } from "node:https";
import type { IncomingMessage } from "node:http";
import type { Named } from "./model/config.js";
import type { DestinationRule } from "./model/istio.js";
import type { KubeObject } from "./model/kube.js";
import { validateObject, validationWarnings } from "./validate/index.js";

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: string;
  object?: KubeObject | null;
}

export interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: AdmissionRequest;
}

export interface AdmissionResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason: string; message: string };
    warnings?: string[];
  };
}

const MAX_BODY = 3 * 1024 * 1024;

/** The answer to one review, given the DestinationRules that define subsets. Pure. */
export function admit(review: AdmissionReview, destinationRules: Named<DestinationRule>[]): AdmissionResponse {
  const request = review.request;
  const uid = request?.uid ?? "";
  let warnings: string[] = [];
  const answer = (allowed: boolean, message?: string): AdmissionResponse => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid,
      allowed,
      ...(message ? { status: { code: 400, reason: "Invalid", message } } : {}),
      ...(warnings.length ? { warnings } : {}),
    },
  });
  const obj = request?.object;
  if (!obj || typeof obj !== "object") return answer(true); // DELETE, CONNECT: nothing to check
  const kind = obj.kind ?? request.kind?.kind;
  const namespace = obj.metadata?.namespace ?? request.namespace ?? "default";
  const object = { ...obj, kind, metadata: { ...obj.metadata, namespace } };
  const errors = validateObject(object, { destinationRules });
  warnings = validationWarnings(object);
  if (errors.length === 0) return answer(true);
  return answer(false, `${kind ?? "object"} ${namespace}/${obj.metadata?.name ?? ""}: ${errors.join("; ")}`);
}

/** Only VirtualServices check subsets; other kinds need no DestinationRules. Pure. */
export function needsDestinationRules(review: AdmissionReview): boolean {
  return (review.request?.object?.kind ?? review.request?.kind?.kind) === "VirtualService";
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error("request body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export interface WebhookOptions {
  certPem: string;
  keyPem: string;
  /** The DestinationRules as they are now (read fresh: one applied a moment ago must count). */
  destinationRules(): Promise<Named<DestinationRule>[]>;
  /** POST /inject: the sidecar-injection answer (injector/); without it, /inject is not served. */
  inject?(review: AdmissionReview): Promise<object>;
  log: { warn(obj: object, msg?: string): void };
}

export function webhookServer(options: WebhookOptions): Server {
  const handlers: Record<string, ((review: AdmissionReview) => Promise<object>) | undefined> = {
    "/validate": async (review) => admit(review, needsDestinationRules(review) ? await options.destinationRules() : []),
    "/inject": options.inject,
  };
  return createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://localhost");
    const handler = handlers[url.pathname];
    if (!handler || req.method !== "POST") {
      res.writeHead(handler ? 405 : 404).end();
      return;
    }
    void (async () => {
      try {
        const review = JSON.parse(await readBody(req)) as AdmissionReview;
        const answer = await handler(review);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      } catch (err) {
        options.log.warn(
          { path: url.pathname, error: err instanceof Error ? err.message : String(err) },
          "admission review failed",
        );
        if (!res.headersSent) res.writeHead(400, { "content-type": "text/plain" });
        res.end(`bad admission review: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    })();
  });
}
