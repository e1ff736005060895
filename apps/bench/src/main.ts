/** `npx nx run bench:serve` — training throughput beside PyTorch (see app.ts). */
import { runCommand } from '@resnet/cli';
import { bench, BENCH } from './app.ts';

runCommand(BENCH, bench);
