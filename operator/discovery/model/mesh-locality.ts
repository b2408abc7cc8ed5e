// meshConfig.localityLbSetting: the shape DestinationRules have (validate/istio-shapes.ts), checked as Istio's
// ValidateMeshConfig checks it (validate/locality.ts). Throws naming the field. Pure.
import type { LocalityLbSetting } from "./istio.js";
import { checkShape } from "../validate/shape.js";
import { LOCALITY_LB_SETTING } from "../validate/istio-shapes.js";
import { localityLbProblems } from "../validate/locality.js";

export function parseLocalityLbSetting(raw: unknown): LocalityLbSetting {
  const at = "localityLbSetting";
  const shape = checkShape(raw, LOCALITY_LB_SETTING, at);
  if (shape.length) throw new Error(shape[0]);
  const setting = raw as LocalityLbSetting;
  const [problem] = localityLbProblems(setting);
  if (problem) throw new Error(`${problem.path ? `${at}.${problem.path}` : at}: ${problem.message}`);
  return setting;
}
