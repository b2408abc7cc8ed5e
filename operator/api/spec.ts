// Defaults and validation of a MeshInstallation spec with ajv, from the same schema the
// CRD is generated from. The API server applies the same defaults; applying them again
// here covers objects stored before a default existed, and local files.
import { Ajv } from "ajv";
import type { ErrorObject } from "ajv";
import { specSchema } from "./schema.js";
import type { MeshSpec } from "./types.js";

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: true });
ajv.addVocabulary(["x-kubernetes-validations", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-preserve-unknown-fields"]);
const validate = ajv.compile(specSchema);

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "SpecError";
  }
}

function describe(e: ErrorObject): string {
  const path = "spec" + e.instancePath.replaceAll("/", ".");
  switch (e.keyword) {
    case "enum":
      return `${path}: Unsupported value ${JSON.stringify(e.data)}: supported values: ${(e.params as { allowedValues: string[] }).allowedValues.map((v) => `"${v}"`).join(", ")}`;
    case "pattern":
      return `${path}: Invalid value ${JSON.stringify(e.data)}: should match '${(e.params as { pattern: string }).pattern}'`;
    default:
      return `${path}: Invalid value ${JSON.stringify(e.data)}: ${e.message ?? e.keyword}`;
  }
}

/** Returns a defaulted copy of spec, or throws SpecError naming each bad field. */
export function normalizeSpec(spec: unknown): MeshSpec {
  const copy: unknown = structuredClone(spec ?? {});
  if (!validate(copy)) throw new SpecError((validate.errors ?? []).map(describe));
  return copy as MeshSpec;
}
