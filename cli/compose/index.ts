// Compose files as a second input format of `-f`: detected by name or shape,
// converted client-side (convert.ts), warnings printed on stderr, and handed
// back as plain objects with their file:line:column origins for the manifest
// loader (cli/commands/manifests.ts) to treat like any other manifest.

import type { KubeIO } from '../commands/io.js';
import { convertCompose, type ComposeResult, type KubeObject } from './convert.js';

export {
  convertCompose,
  dnsLabel,
  isComposeFile,
  PROJECT_LABEL,
  SERVICE_LABEL,
  type ComposeObject,
  type ComposeOptions,
  type ComposeResult,
  type KubeObject,
} from './convert.js';

/** The compose flags a command passes on: -p and an explicit -n. */
export interface ComposeReadOptions {
  projectName?: string;
  namespace?: string;
}

export interface ComposeManifest {
  object: KubeObject;
  origin: string;
  project: string;
}

/** Converts one compose file's text and prints its warnings, one `warning:` line each, on stderr. */
export function readCompose(
  text: string,
  source: string,
  io: Pick<KubeIO, 'err' | 'env'>,
  opts: ComposeReadOptions = {},
): ComposeManifest[] {
  const result: ComposeResult = convertCompose(text, source, {
    env: io.env,
    ...(opts.projectName ? { projectName: opts.projectName } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
  for (const w of result.warnings) io.err(`warning: ${w}\n`);
  return result.objects.map((o) => ({ ...o, project: result.project }));
}
