/** `npx nx run train:sweep --variants=18,34` — several variants, one folder (see sweep.ts). */
import { runCommand } from '@resnet/cli';
import { sweep, SWEEP } from './sweep.ts';

runCommand(SWEEP, sweep);
