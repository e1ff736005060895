/** `npx nx run web:serve --runs=<dir>` — the site and the runs, live, on 127.0.0.1 (see app.ts). */
import { runCommand } from '@resnet/cli';
import { serve, SERVE } from './app.ts';

runCommand(SERVE, serve);
