/** The architecture explorer: a form, and Table 1 for the choice computed by {@link explore}. */
import * as E from 'fp-ts/Either';
import { DEPTHS, VERSIONS, type Depth, type StemName, type Version } from '@resnet/variants';
import { formatCount, formatMacs } from '@resnet/format';
import { explore, PAPER_CHOICE, type Choice, type Explored } from '../explorer.ts';

const PRESETS: Record<string, Pick<Choice, 'input' | 'channels' | 'classes'>> = {
  imagenet: { input: 224, channels: 3, classes: 1000 },
  fashion: { input: 28, channels: 1, classes: 10 },
};

/** Fills the form, renders the table, and re-renders on every change. */
export function startExplorer(section: HTMLElement): void {
  const form = section.querySelector('form') as HTMLFormElement;
  const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
  const depth = field('depth') as HTMLSelectElement;
  const version = field('version') as HTMLSelectElement;
  depth.append(...DEPTHS.map((d) => new Option(`ResNet-${d}`, String(d))));
  version.append(...VERSIONS.map((v) => new Option(v === 'v1' ? 'v1 (paper)' : 'v1.5 (torchvision)', v)));
  depth.value = String(PAPER_CHOICE.depth);
  version.value = PAPER_CHOICE.version;
  const render = () => {
    const choice: Choice = {
      depth: Number(depth.value) as Depth,
      version: version.value as Version,
      stem: field('stem').value as StemName,
      input: Number(field('input').value),
      channels: Number(field('channels').value),
      classes: Number(field('classes').value),
    };
    const result = explore(choice);
    const error = section.querySelector('#explorer-error') as HTMLElement;
    const table = section.querySelector('#explorer-table') as HTMLElement;
    if (E.isLeft(result)) {
      error.hidden = false;
      error.textContent = `This choice has no network: ${result.left}`;
      table.replaceChildren();
      return;
    }
    error.hidden = true;
    table.replaceChildren(renderTable(result.right));
  };
  form.addEventListener('input', render);
  form.addEventListener('change', render);
  form.addEventListener('submit', (e) => e.preventDefault());
  for (const button of form.querySelectorAll<HTMLButtonElement>('button[data-preset]')) {
    button.addEventListener('click', () => {
      const preset = PRESETS[button.dataset['preset'] ?? ''];
      if (preset === undefined) return;
      field('input').value = String(preset.input);
      field('channels').value = String(preset.channels);
      field('classes').value = String(preset.classes);
      render();
    });
  }
  render();
}

function renderTable(x: Explored): HTMLTableElement {
  const table = document.createElement('table');
  const c = x.choice;
  table.createCaption().textContent = `ResNet-${c.depth} ${c.version}, ${c.stem} stem, input ${c.input}×${c.input}×${c.channels}, ${c.classes} classes: ${x.weightedLayers} weighted layers`;
  const head = table.createTHead().insertRow();
  for (const [text, num] of [
    ['layer name', false],
    ['output size', false],
    ['layers', false],
    ['params', true],
    ['MACs', true],
  ] as const) {
    const th = document.createElement('th');
    th.textContent = text;
    if (num) th.className = 'num';
    head.append(th);
  }
  const body = table.createTBody();
  for (const stage of x.stages) {
    const row = body.insertRow();
    row.dataset['stage'] = stage.name;
    cell(row, stage.name);
    cell(row, stage.name === 'head' ? '1×1' : `${stage.outputSize[0]}×${stage.outputSize[1]}`);
    cell(row, layerLines(stage).join('\n'), 'bracket');
    cell(row, formatCount(stage.params), 'num');
    cell(row, formatMacs(stage.macs), 'num');
  }
  const total = body.insertRow();
  total.className = 'total';
  total.id = 'explorer-total';
  total.dataset['params'] = String(x.params);
  total.dataset['macs'] = String(x.macs);
  cell(total, 'total');
  cell(total, '');
  cell(total, `${formatCount(x.nonTrainableParams)} batch-norm statistics besides`);
  cell(total, formatCount(x.params), 'num');
  cell(total, `${formatMacs(x.macs)} (${formatCount(x.macs)})`, 'num');
  return table;
}

/** Table 1's cell: plain layers one per line, then the block bracket with its count on the middle line. */
function layerLines(stage: Explored['stages'][number]): string[] {
  if (stage.blocks === 0) return [...stage.layers];
  const width = Math.max(...stage.bracket.map((b) => b.length));
  const middle = Math.floor((stage.bracket.length - 1) / 2);
  return [
    ...stage.layers.filter((l) => l.includes('pool')),
    ...stage.bracket.map((b, i) => `[${b.padEnd(width)}]${i === middle ? ` ×${stage.blocks}` : ''}`),
  ];
}

function cell(row: HTMLTableRowElement, text: string, className?: string): void {
  const td = row.insertCell();
  td.textContent = text;
  if (className !== undefined) td.className = className;
}
