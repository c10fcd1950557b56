// Loads the agent protocol at run time with @grpc/proto-loader. The options
// must match proto/scripts/gen.sh, which generates the types in generated/
// from the same file, so the objects on the wire have the shapes those types say.

import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { loadSync, type Options } from '@grpc/proto-loader';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { ProtoGrpcType } from './generated/agent.js';

export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function protoRoot(): string {
  // Sources run from proto/; the build runs from dist/proto/ with the .proto files left in proto/.
  for (const rel of ['./', '../../proto/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}shoal/agent/v1/agent.proto`)) return dir;
  }
  throw new Error('proto/shoal/agent/v1/agent.proto not found');
}

let cached: ProtoGrpcType | undefined;

export function loadAgentProtocol(): ProtoGrpcType {
  cached ??= loadPackageDefinition(
    loadSync('shoal/agent/v1/agent.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] }),
  ) as unknown as ProtoGrpcType;
  return cached;
}
