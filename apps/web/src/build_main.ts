/** `npx nx run web:build --runs=<dir> --out=<dir>` — the site as static files (see app.ts). */
import { runCommand } from '@resnet/cli';
import { build, BUILD } from './app.ts';

runCommand(BUILD, build);
