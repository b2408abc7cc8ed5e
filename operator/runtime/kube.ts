// Loading a KubeConfig the way kubectl does: --kubeconfig, then $KUBECONFIG, then the
// in-cluster service account, then ~/.kube/config.
import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (!process.env.KUBECONFIG && existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token"))
    kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error("no Kubernetes cluster configured: pass --kubeconfig or set KUBECONFIG");
  return kc;
}

/** The HTTP status of a client-node ApiException, or undefined for other errors. */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;

/** A short description of an API error: the server's message when there is one. */
export function errorMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON: fall through
    }
  } else if (body && typeof body === "object" && "message" in body && typeof body.message === "string") {
    return body.message;
  }
  return err instanceof Error ? err.message : String(err);
}
