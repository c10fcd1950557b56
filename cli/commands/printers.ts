// Printing what `get` fetched: the server's Table as kubectl lays it out
// (upper-case headers, columns left-aligned and 3 spaces apart, priority-1
// columns only for -o wide, NAMESPACE first with -A, LABELS last with
// --show-labels), and the yaml/json/name/jsonpath forms.

import { stringify } from 'yaml';
import { isRecord } from '../../controlplane/api/objects.js';
import { objectRef, type ApiResource } from './discovery.js';
import { jsonpath } from './jsonpath.js';

export interface TableColumn {
  name: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface ServerTable {
  kind: 'Table';
  metadata?: { resourceVersion?: string };
  columnDefinitions?: TableColumn[];
  rows?: TableRow[];
}

export interface TableLayout {
  wide: boolean;
  allNamespaces: boolean;
  showLabels: boolean;
  /** When several kinds print together, names read "deployment.apps/web". */
  prefix?: string;
}

const GAP = 3;

function cellText(v: unknown): string {
  if (v === null || v === undefined || v === '') return v === '' ? '' : '<none>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function rowMeta(row: TableRow): Record<string, unknown> {
  return isRecord(row.object) && isRecord(row.object.metadata) ? row.object.metadata : {};
}

function labelsText(meta: Record<string, unknown>): string {
  const labels = isRecord(meta.labels) ? meta.labels : {};
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${String(v)}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

/** The header and the rows of a Table as text cells, in print order. */
export function tableCells(
  columns: TableColumn[],
  rows: TableRow[],
  layout: TableLayout,
): { header: string[]; rows: string[][] } {
  const keep = columns.map((c, i) => ({ c, i })).filter(({ c }) => layout.wide || c.priority === 0);
  const header = keep.map(({ c }) => c.name.toUpperCase());
  if (layout.allNamespaces) header.unshift('NAMESPACE');
  if (layout.showLabels) header.push('LABELS');
  const out = rows.map((row) => {
    const meta = rowMeta(row);
    const cells = keep.map(({ c, i }) => {
      const text = cellText(row.cells[i]);
      return layout.prefix && c.name.toLowerCase() === 'name' ? `${layout.prefix}/${text}` : text;
    });
    if (layout.allNamespaces)
      cells.unshift(typeof meta.namespace === 'string' ? meta.namespace : '');
    if (layout.showLabels) cells.push(labelsText(meta));
    return cells;
  });
  return { header, rows: out };
}

/** Column widths that fit every line. */
export function columnWidths(lines: string[][]): number[] {
  const widths: number[] = [];
  for (const line of lines)
    line.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return widths;
}

/** Left-aligned columns, GAP spaces apart, no trailing spaces. */
export function alignLine(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + GAP)))
    .join('')
    .trimEnd();
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = columnWidths([header, ...rows]);
  return [header, ...rows].map((l) => alignLine(l, widths) + '\n').join('');
}

export type OutputFormat =
  | { kind: 'table'; wide: boolean }
  | { kind: 'yaml' }
  | { kind: 'json' }
  | { kind: 'name' }
  | { kind: 'jsonpath'; template: string };

/** -o values kubectl takes: wide, yaml, json, name, jsonpath=TEMPLATE (also jsonpath='…'). */
export function parseOutput(value: string | undefined): OutputFormat | undefined {
  if (value === undefined || value === '') return { kind: 'table', wide: false };
  if (value === 'wide') return { kind: 'table', wide: true };
  if (value === 'yaml' || value === 'json' || value === 'name') return { kind: value };
  const m = /^jsonpath=(.*)$/s.exec(value);
  if (m) return { kind: 'jsonpath', template: m[1]! };
  return undefined;
}

/** One object, or a List of several, in a machine format. */
export function formatObjects(
  format: Exclude<OutputFormat, { kind: 'table' }>,
  items: { resource: ApiResource; object: Record<string, unknown> }[],
  single: boolean,
): string {
  const objects = items.map(({ resource, object }) => ({
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    ...object,
  }));
  const data: unknown =
    single && objects.length === 1
      ? objects[0]
      : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects };
  switch (format.kind) {
    case 'json':
      return JSON.stringify(data, null, 4) + '\n';
    case 'yaml':
      return stringify(data, { lineWidth: 0 });
    case 'name':
      return items
        .map(({ resource, object }) => {
          const meta = isRecord(object.metadata) ? object.metadata : {};
          return objectRef(resource, String(meta.name)) + '\n';
        })
        .join('');
    case 'jsonpath':
      return jsonpath(format.template, data);
  }
}
