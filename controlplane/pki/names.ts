// The identities a node certificate carries, as Kubernetes spells them for kubelets
// (system:node:<name> in group system:nodes), so RBAC-style checks read familiar.

export const NODE_ORGANIZATION = 'system:nodes';
const NODE_CN_PREFIX = 'system:node:';

// A node name is a DNS-1123 subdomain, as for Node objects; this also keeps
// anything that would need escaping out of the certificate subject.
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isValidNodeName(nodeName: string): boolean {
  return nodeName.length > 0 && nodeName.length <= 253 && NODE_NAME.test(nodeName);
}

/** The certificate common name for a node: `system:node:<nodeName>`. */
export function nodeCommonName(nodeName: string): string {
  return NODE_CN_PREFIX + nodeName;
}

/** The node name in a `system:node:<name>` common name, or undefined for any other CN. */
export function nodeNameFromCommonName(commonName: string): string | undefined {
  return commonName.startsWith(NODE_CN_PREFIX)
    ? commonName.slice(NODE_CN_PREFIX.length)
    : undefined;
}
