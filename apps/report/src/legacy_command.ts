/**
 * Training commands as older runs recorded them, rewritten so that they can be pasted today.
 */
import { RENAMED } from '@resnet/cli';

/**
 * A recorded training command as it can be pasted today: `npx nx run` in front (older runs
 * recorded `train:serve …`), flags that were renamed because nx swallows them spelled anew.
 * @example pasteable('train:serve --variant=18 --batch-size=64') // 'npx nx run train:serve --variant=18 --mini-batch=64'
 */
export function pasteable(command: string): string {
  const full = command.startsWith('npx nx run ') ? command : `npx nx run ${command}`;
  return full.replace(/ --([a-z][a-z0-9-]*)(?==| |$)/g, (whole, name: string) => {
    const renamed = RENAMED[name];
    return renamed === undefined ? whole : ` --${renamed}`;
  });
}
