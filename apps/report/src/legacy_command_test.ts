import { pasteable } from './legacy_command.ts';

describe('pasteable', () => {
  test('older recorded commands get npx nx run and the flag names nx lets through', () => {
    expect(pasteable('train:serve --variant=18 --version=v1 --batch-size=64 --lr=0.1')).toBe(
      'npx nx run train:serve --variant=18 --block-version=v1 --mini-batch=64 --lr=0.1',
    );
    expect(pasteable('npx nx run train:serve --variant=50 --out=runs/a')).toBe('npx nx run train:serve --variant=50 --out=runs/a');
  });
});
