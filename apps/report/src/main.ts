/**
 * `nx run report:serve --runs=<dir>[,<dir>…] --out=<dir>` — a report on training runs:
 * report.md (summary table, per-run epochs, comparison with the seed report) and charts
 * as SVG and PNG. Thin: the app is `report` in app.ts.
 */
import { runCommand } from '@resnet/cli';
import { report, REPORT } from './app.ts';

runCommand(REPORT, report);
