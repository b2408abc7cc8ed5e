// Defaults and validation of a MeshInstallation spec with ajv, from the same schema the
// CRD is generated from. The API server applies the same defaults; applying them again
// here covers objects stored before a default existed, and local files.
import { Ajv } from "ajv";
import type { ErrorObject } from "ajv";
import { durationSeconds } from "../discovery/model/duration.js";
import {
  MAX_UNAVAILABLE_MESSAGE,
  MAX_UNAVAILABLE_PERCENT,
  MAX_WORKLOAD_CERT_TTL,
  SECRET_TTL_MESSAGE,
  specSchema,
} from "./schema.js";
import { meshProviderProblems } from "./spec-providers.js";
import type { MeshSpec } from "./types.js";

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: true, verbose: true });
ajv.addVocabulary([
  "x-kubernetes-int-or-string",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-preserve-unknown-fields",
]);
const validate = ajv.compile(specSchema);

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "SpecError";
  }
}

/** An ajv instance path as the API server names the field: spec.a.b[0].c. */
function fieldPath(root: unknown, pointer: string): string {
  let path = "spec";
  let at: unknown = root;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    path += Array.isArray(at) ? `[${key}]` : `.${key}`;
    at = (at as Record<string, unknown> | undefined)?.[key];
  }
  return path;
}

function describe(e: ErrorObject, root: unknown): string {
  const path = fieldPath(root, e.instancePath);
  switch (e.keyword) {
    case "required":
      return `${path}.${(e.params as { missingProperty: string }).missingProperty}: Required value`;
    case "enum":
      return `${path}: Unsupported value ${JSON.stringify(e.data)}: supported values: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    case "anyOf": {
      const branch = (b: { type?: string; minimum?: number; pattern?: string }) =>
        b.minimum !== undefined
          ? `an ${b.type} >= ${b.minimum}`
          : b.pattern !== undefined
            ? `a ${b.type} matching '${b.pattern}'`
            : `${/^[aeiou]/.test(b.type ?? "") ? "an" : "a"} ${b.type}`;
      return `${path}: Invalid value ${JSON.stringify(e.data)}: want ${(e.schema as { type?: string }[]).map(branch).join(" or ")}`;
    }
    case "pattern":
      return `${path}: Invalid value ${JSON.stringify(e.data)}: should match '${(e.params as { pattern: string }).pattern}'`;
    default:
      return `${path}: Invalid value ${JSON.stringify(e.data)}: ${e.message ?? e.keyword}`;
  }
}

/** Returns a defaulted copy of spec, or throws SpecError naming each bad field. */
export function normalizeSpec(spec: unknown): MeshSpec {
  const copy: unknown = structuredClone(spec ?? {});
  if (!validate(copy)) {
    const errors = validate.errors ?? [];
    // An anyOf says it all: its branches' own errors at the same place are noise.
    const anyOf = new Set(errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath));
    throw new SpecError(
      errors.filter((e) => e.keyword === "anyOf" || !anyOf.has(e.instancePath)).map((e) => describe(e, copy)),
    );
  }
  // The CEL rules and list keys of spec.meshConfig's providers.
  const providers = meshProviderProblems((copy as MeshSpec).meshConfig);
  if (providers.length) throw new SpecError(providers);
  // The CEL rule of spec.proxy.maxUnavailable, which ajv doesn't run.
  const mu = (copy as MeshSpec).proxy.maxUnavailable;
  if (typeof mu === "number" ? mu < 1 : !new RegExp(MAX_UNAVAILABLE_PERCENT).test(mu)) {
    throw new SpecError([`spec.proxy.maxUnavailable: Invalid value ${JSON.stringify(mu)}: ${MAX_UNAVAILABLE_MESSAGE}`]);
  }
  // The CEL rule of spec.meshConfig.defaultConfig.proxyMetadata.SECRET_TTL.
  const ttl = (copy as MeshSpec).meshConfig.defaultConfig.proxyMetadata.SECRET_TTL;
  const seconds = durationSeconds(ttl);
  if (
    ttl !== undefined &&
    !(seconds !== undefined && seconds >= 1 && seconds <= durationSeconds(MAX_WORKLOAD_CERT_TTL)!)
  ) {
    throw new SpecError([
      `spec.meshConfig.defaultConfig.proxyMetadata.SECRET_TTL: Invalid value ${JSON.stringify(ttl)}: ${SECRET_TTL_MESSAGE}`,
    ]);
  }
  return copy as MeshSpec;
}
