/**
 * The classifier's model for the page: the ONNX export of a run (issue 12's exporter).
 */
import * as E from 'fp-ts/Either';
import type { SiteModel } from './site_data.ts';

/**
 * Exports the first run with a saved model as `model.onnx` into `dir`, or says why not.
 * @example exportModel(['runs/smoke'], 'public') // Right({ file: 'model.onnx', label: 'ResNet-18 v1.5', … })
 */
export function exportModel(runs: readonly string[], dir: string): E.Either<string, Omit<SiteModel, 'mean' | 'std'>> {
  void runs;
  void dir;
  return E.left('The classifier needs the ONNX export (@resnet/onnx), which is not in this build yet.');
}
