// metav1.LabelSelector as a predicate, compiled once per selector object
// (selectors come from parsed pods, which are immutable). A nil selector
// selects nothing and an invalid one nothing too: a rule that cannot be read
// must not attract or repel every pod.

import { fromLabelSelector, matchesLabels } from '../api/selectors.js';
import type { LabelSelector } from './pod-info.js';

export type LabelPredicate = (labels: Readonly<Record<string, string>>) => boolean;

const NOTHING: LabelPredicate = () => false;
const compiled = new WeakMap<LabelSelector, LabelPredicate>();

export function selectorPredicate(sel: LabelSelector | null): LabelPredicate {
  if (sel === null) return NOTHING;
  let p = compiled.get(sel);
  if (!p) {
    p = compile(sel);
    compiled.set(sel, p);
  }
  return p;
}

function compile(sel: LabelSelector): LabelPredicate {
  let reqs;
  try {
    reqs = fromLabelSelector(sel);
  } catch {
    return NOTHING;
  }
  if (reqs === 'nothing') return NOTHING;
  const r = reqs;
  return (labels) => matchesLabels(r, labels);
}
