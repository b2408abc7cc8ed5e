// The control-plane versions this operator can install, like Sail's versions.yaml. A
// MeshInstallation asking for any other version is reported (Reconciled=False,
// reason UnknownVersion) rather than rolled out to an image that may not exist.
export interface VersionInfo {
  version: string;
  /** Default proxy engine path inside the image for this version. */
  binaryPath: string;
}

export const DEFAULT_BINARY_PATH = "/usr/local/bin/weft-engine";
/** Where Weft's images are published: <hub>/weft:<version>. */
export const DEFAULT_HUB = "ghcr.io/weft-mesh";

export const VERSIONS: readonly VersionInfo[] = [
  { version: "0.1.0", binaryPath: DEFAULT_BINARY_PATH },
  { version: "0.2.0", binaryPath: DEFAULT_BINARY_PATH },
];

export function findVersion(version: string): VersionInfo | undefined {
  return VERSIONS.find((v) => v.version === version);
}
