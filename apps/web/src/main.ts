/** `nx run web:serve` / `nx run web:build`: the first argument picks the command (set by project.json). */
import { runApp } from '@resnet/cli';
import { build, serve } from './app.ts';

const [command, ...args] = process.argv.slice(2);
runApp('web', () => (command === 'build' ? build(args) : command === 'serve' ? serve(args) : (console.error(`web: unknown command "${command ?? ''}": expected serve or build`), 2)));
