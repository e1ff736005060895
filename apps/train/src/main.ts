/** `npx nx run train:serve --variant=34` — trains a ResNet on Fashion-MNIST (see serve.ts). */
import { runCommand } from '@resnet/cli';
import { serve, SERVE } from './serve.ts';

runCommand(SERVE, serve);
