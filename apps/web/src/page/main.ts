/**
 * The page: loads site.json, then runs the three views. Each view reports failure on the
 * page itself; an error never leaves a blank page.
 */
import type { SiteData } from '../site_data.ts';
import { startClassifier } from './classifier.ts';
import { startExplorer } from './explorer_view.ts';
import { startRuns } from './runs_view.ts';

async function start(): Promise<void> {
  startExplorer(element('explorer'));
  document.body.dataset['explorerMs'] = performance.now().toFixed(0);
  const response = await fetch('site.json');
  if (!response.ok) throw new Error(`site.json: HTTP ${response.status}`);
  const site = (await response.json()) as SiteData;
  const classifier = element('classifier');
  // A run chosen in the viewer replaces the classifier's model.
  const useModel = async (model: NonNullable<SiteData['model']>) => {
    await startClassifier(classifier, { ...site, model });
    classifier.scrollIntoView();
  };
  await Promise.all([startRuns(element('runs'), site, useModel), startClassifier(classifier, site)]);
  document.body.dataset['readyMs'] = performance.now().toFixed(0);
  document.body.dataset['ready'] = 'true';
}

function element(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} is missing from index.html`);
  return el;
}

start().catch((e: unknown) => {
  document.body.dataset['ready'] = 'error';
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = `The page could not start: ${e instanceof Error ? e.message : String(e)}`;
  document.body.prepend(p);
  throw e;
});
