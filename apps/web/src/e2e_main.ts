/** `npx nx run web:e2e` — the built site in headless Chromium (see e2e.ts). */
import { runCommand } from '@resnet/cli';
import { e2e, E2E } from './e2e.ts';

runCommand(E2E, e2e);
