/** `npx nx run train:export --run=<dir> --format=onnx|tfjs --out=<dir>` — a run's model as ONNX or TensorFlow.js (see export.ts). */
import { runCommand } from '@resnet/cli';
import { EXPORT, exportRun } from './export.ts';

runCommand(EXPORT, exportRun);
