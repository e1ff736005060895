/** `npx nx run table:serve` — Table 1 regenerated from the specs (see app.ts). */
import { runCommand } from '@resnet/cli';
import { table, TABLE } from './app.ts';

runCommand(TABLE, table);
