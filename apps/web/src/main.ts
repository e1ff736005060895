/** `npx nx run web:serve --run=<dir>` — the dev server on 127.0.0.1 (see app.ts). */
import { runCommand } from '@resnet/cli';
import { serve, SERVE } from './app.ts';

runCommand(SERVE, serve);
