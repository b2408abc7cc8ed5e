// Which gateways (and sidecars a selector DestinationRule's credentialName is for: translate/sidecar-credentials.ts)
// may have their namespace's credentialName Secrets, as istiod decides it (pilot/pkg/credentials/kube/secrets.go
// Authorize): the proxy's certificate vouches for its namespace and ServiceAccount, and a SubjectAccessReview asks
// the API server whether that ServiceAccount (`system:serviceaccount:<ns>:<sa>`) may `list` `secrets` in its
// namespace. The node id's `router` (and its workload's labels) are the client's own claim: without the review, any
// workload of a namespace could claim to be its gateway and take every TLS key.
//
// Answers are cached per ServiceAccount as istiod caches them: a denial (or a review that failed) for `deniedTtlMs`
// (istiod's cacheTTL, a minute), an allowance five times as long. Where istiod asks again only at the next push after
// an answer expired, here an expired answer is asked again while a proxy of that ServiceAccount is connected, and a
// changed answer is pushed to those proxies: a Role granted or taken away takes effect within the cache's lifetime,
// whatever the config does. The answer in hand holds while it is asked again, so a push never waits on the API
// server; only a ServiceAccount's first review holds its own proxies' first response (never anyone else's).
import type { Logger } from "./server.js";

/** The API server's answer (status.allowed, status.reason). */
export interface ReviewAnswer {
  allowed: boolean;
  reason?: string;
}

/** Creates a SubjectAccessReview: may `user` list secrets in `namespace`? Rejects when the review can't be made. */
export type SecretReview = (user: string, namespace: string) => Promise<ReviewAnswer>;

/** What a proxy of a ServiceAccount may have: one object per answer, the same while the answer is. */
export interface SecretDecision {
  readonly allowed: boolean;
  /** Denied: why, in istiod's words (`<sa>/<ns> is not authorized to read secrets: <reason>`). */
  readonly reason?: string;
}

/** istiod's cacheTTL: denials (and failed reviews) are asked again after a minute. */
export const DENIED_TTL_MS = 60_000;
/** istiod caches an allowance five times as long ("there is no need to quickly revoke access"). */
export const ALLOWED_TTL_FACTOR = 5;
/** A review the API server hasn't answered by then counts as failed. */
const REVIEW_TIMEOUT_MS = 10_000;

export interface SecretAccessOptions {
  review: SecretReview;
  deniedTtlMs?: number;
  /** The answer for a ServiceAccount changed (or came first): push its proxies. */
  changed(namespace: string, serviceAccount: string): void;
  /** Is a proxy of this ServiceAccount connected? Only then is an expired answer asked again. */
  wanted(namespace: string, serviceAccount: string): boolean;
  log: Logger;
}

interface Entry {
  decision?: SecretDecision;
  /** When the answer is to be asked again. */
  expires: number;
  reviewing: boolean;
  timer?: NodeJS.Timeout;
}

const ALLOWED: SecretDecision = Object.freeze({ allowed: true });

export class SecretAccess {
  private readonly entries = new Map<string, Entry>();
  private readonly deniedTtlMs: number;
  private closed = false;

  constructor(private readonly o: SecretAccessOptions) {
    this.deniedTtlMs = o.deniedTtlMs ?? DENIED_TTL_MS;
  }

  /**
   * The answer for the ServiceAccount: undefined until its first review answers (started here; `changed` says
   * when). An expired answer stands while it is asked again.
   */
  decision(serviceAccount: string, namespace: string): SecretDecision | undefined {
    const key = `${namespace}/${serviceAccount}`;
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { expires: 0, reviewing: false }));
    if (!e.reviewing && Date.now() >= e.expires) this.review(key, e, serviceAccount, namespace);
    return e.decision;
  }

  private review(key: string, e: Entry, serviceAccount: string, namespace: string): void {
    if (this.closed) return;
    e.reviewing = true;
    clearTimeout(e.timer);
    const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
    const denied = (why: string): SecretDecision => ({
      allowed: false,
      reason: `${serviceAccount}/${namespace} is not authorized to read secrets: ${why}`,
    });
    let timeout: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error(`no answer in ${REVIEW_TIMEOUT_MS / 1000} s`)), REVIEW_TIMEOUT_MS);
      timeout.unref();
    });
    Promise.race([this.o.review(user, namespace), late])
      .then(
        (a) => ({ decision: a.allowed ? ALLOWED : denied(a.reason || "no RBAC rule allows it"), failed: false }),
        (err: unknown) => ({
          decision: denied(`SubjectAccessReview failed: ${err instanceof Error ? err.message : String(err)}`),
          failed: true,
        }),
      )
      .then(({ decision, failed }) => {
        clearTimeout(timeout);
        e.reviewing = false;
        if (this.closed || this.entries.get(key) !== e) return;
        const previous = e.decision;
        // A review that failed keeps the API server's last answer (an outage revokes no gateway's certificates); a
        // ServiceAccount never answered is denied. Either way it is asked again after the shorter lifetime.
        const next = previous && (failed || same(previous, decision)) ? previous : decision;
        const ttl = next.allowed && !failed ? this.deniedTtlMs * ALLOWED_TTL_FACTOR : this.deniedTtlMs;
        e.decision = next;
        e.expires = Date.now() + ttl;
        e.timer = setTimeout(() => this.expired(key, e, serviceAccount, namespace), ttl);
        e.timer.unref();
        if (failed)
          this.o.log.warn({ serviceAccount, namespace, error: decision.reason }, "SubjectAccessReview failed");
        if (next === previous) return;
        this.o.log.info(
          { serviceAccount, namespace, allowed: next.allowed, ...(next.reason ? { reason: next.reason } : {}) },
          "gateway Secrets: SubjectAccessReview answered",
        );
        this.o.changed(namespace, serviceAccount);
      })
      .catch((err: unknown) => this.o.log.warn({ serviceAccount, namespace, error: String(err) }, "push failed"));
  }

  /** Asked again while one of its proxies is connected; forgotten otherwise. */
  private expired(key: string, e: Entry, serviceAccount: string, namespace: string): void {
    if (this.entries.get(key) !== e || e.reviewing) return;
    if (this.o.wanted(namespace, serviceAccount)) this.review(key, e, serviceAccount, namespace);
    else this.entries.delete(key);
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
  }
}

const same = (a: SecretDecision, b: SecretDecision): boolean => a.allowed === b.allowed && a.reason === b.reason;
