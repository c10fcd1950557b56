// v1.NodeSelector matching (component-helpers' nodeaffinity): terms are ORed,
// the requirements inside a term ANDed; a term with no requirements, or one
// that cannot be parsed, matches no node. Label operators are In, NotIn,
// Exists, DoesNotExist, Gt and Lt (integers); fields offer metadata.name with
// In and NotIn only.

import type { NodeInfo } from './node-info.js';
import type { NodeSelectorTerm, SelectorRequirement } from './pod-info.js';

const INTEGER = /^[+-]?\d+$/;

function labelRequirementMatches(
  r: SelectorRequirement,
  labels: Readonly<Record<string, string>>,
): boolean | undefined {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      if (r.values.length === 0) return undefined;
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      if (r.values.length === 0) return undefined;
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return r.values.length === 0 ? has : undefined;
    case 'DoesNotExist':
      return r.values.length === 0 ? !has : undefined;
    case 'Gt':
    case 'Lt': {
      const bound = r.values[0];
      if (r.values.length !== 1 || bound === undefined || !INTEGER.test(bound)) return undefined;
      if (value === undefined || !INTEGER.test(value)) return false;
      return r.operator === 'Gt' ? BigInt(value) > BigInt(bound) : BigInt(value) < BigInt(bound);
    }
    default:
      return undefined;
  }
}

function fieldRequirementMatches(r: SelectorRequirement, nodeName: string): boolean | undefined {
  if (r.key !== 'metadata.name' || r.values.length !== 1) return undefined;
  if (r.operator === 'In') return r.values.includes(nodeName);
  if (r.operator === 'NotIn') return !r.values.includes(nodeName);
  return undefined;
}

/** One term against a node; an invalid requirement (undefined) fails the term. */
/** A node's name and labels are all a term reads (a PersistentVolume's node affinity uses this too). */
type NodeIdentity = Pick<NodeInfo, 'name' | 'labels'>;

export function termMatches(term: NodeSelectorTerm, node: NodeIdentity): boolean {
  if (term.matchExpressions.length === 0 && term.matchFields.length === 0) return false;
  for (const r of term.matchExpressions) {
    if (labelRequirementMatches(r, node.labels) !== true) return false;
  }
  for (const r of term.matchFields) {
    if (fieldRequirementMatches(r, node.name) !== true) return false;
  }
  return true;
}

export function anyTermMatches(terms: readonly NodeSelectorTerm[], node: NodeIdentity): boolean {
  return terms.some((t) => termMatches(t, node));
}

/** nodeSelector and required node affinity together: both must hold (NodeAffinity's Filter). */
export function nodeMatchesPodPlacement(
  pod: {
    nodeSelector: Readonly<Record<string, string>>;
    requiredNodeTerms: readonly NodeSelectorTerm[] | undefined;
  },
  node: NodeInfo,
): boolean {
  for (const k in pod.nodeSelector) if (node.labels[k] !== pod.nodeSelector[k]) return false;
  return pod.requiredNodeTerms === undefined || anyTermMatches(pod.requiredNodeTerms, node);
}
