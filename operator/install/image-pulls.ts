// Pods that can't start an image: the kubelet says so in a container's waiting reason, and nothing else does. Status
// names the pod, the container and the image, so that a missing image is not a silent "Deploying". Pure.
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";

export interface ImagePullFailure {
  /** `<namespace>/<name>` */
  pod: string;
  container: string;
  image: string;
  /** ErrImageNeverPull, ErrImagePull (ImagePullBackOff is its retry, reported as ErrImagePull), InvalidImageName. */
  reason: string;
}

const REASONS: Record<string, string> = {
  ErrImageNeverPull: "ErrImageNeverPull",
  ErrImagePull: "ErrImagePull",
  ImagePullBackOff: "ErrImagePull",
  InvalidImageName: "InvalidImageName",
};

/** Every waiting container (init containers too) whose image can't be had, sorted so that status is stable. */
export function imagePullFailures(pods: V1Pod[]): ImagePullFailure[] {
  const out: ImagePullFailure[] = [];
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    const pod = `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
    const specs = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])];
    const statuses: V1ContainerStatus[] = [
      ...(p.status?.initContainerStatuses ?? []),
      ...(p.status?.containerStatuses ?? []),
    ];
    for (const s of statuses) {
      const reason = REASONS[s.state?.waiting?.reason ?? ""];
      if (!reason) continue;
      // The spec's image is what was asked for; the status may hold a resolved or empty name.
      const image = specs.find((c) => c.name === s.name)?.image ?? s.image;
      out.push({ pod, container: s.name, image, reason });
    }
  }
  return out.sort((a, b) => `${a.pod}/${a.container}`.localeCompare(`${b.pod}/${b.container}`));
}

/** One sentence for a condition message: the first few failures, with what to do. */
export function describeImagePulls(failures: ImagePullFailure[]): string {
  const named = failures
    .slice(0, 3)
    .map((f) => `pod ${f.pod} container ${f.container}: ${f.reason} for image "${f.image}"`)
    .join("; ");
  const more = failures.length > 3 ? `; and ${failures.length - 3} more` : "";
  return (
    `${named}${more}. The node can't get the image: build it with \`npm run image\` and load it ` +
    "(`kind load image-archive`, `ctr images import`), or fix spec.hub, spec.version or spec.proxy.tag"
  );
}
