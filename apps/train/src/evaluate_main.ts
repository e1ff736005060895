/** `npx nx run train:evaluate --run=<dir>` — a run's test accuracy and confusion matrix (see evaluate.ts). */
import { runCommand } from '@resnet/cli';
import { evaluateRun, EVALUATE } from './evaluate.ts';

runCommand(EVALUATE, evaluateRun);
