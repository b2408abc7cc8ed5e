// The SubjectAccessReview istiod makes before it serves a gateway a `kubernetes://` Secret
// (pilot/pkg/credentials/kube/secrets.go Authorize): may this ServiceAccount `list` `secrets` in the namespace? Made
// through the API server with discovery's own credentials (weftd's ClusterRole may create `subjectaccessreviews`).
import { AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { ReviewAnswer, SecretReview } from "../ads/secret-access.js";

export function subjectAccessReview(kc: KubeConfig): SecretReview {
  const api = kc.makeApiClient(AuthorizationV1Api);
  return async (user: string, namespace: string): Promise<ReviewAnswer> => {
    const review = await api.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        // As istiod: the user alone (no groups), verb list, resource secrets, the proxy's namespace.
        spec: { user, resourceAttributes: { namespace, verb: "list", resource: "secrets" } },
      },
    });
    return { allowed: review.status?.allowed === true, reason: review.status?.reason };
  };
}
