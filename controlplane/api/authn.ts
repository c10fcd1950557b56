// Who is calling: the admin bearer token, or a client certificate the TLS
// layer already verified against the cluster CA (node agents). Anything else
// is anonymous and gets 401 outside the public paths.

import { checkBearer } from '../pki/tokens.js';
import type { ClusterPki } from '../pki/ca.js';
import type { Authenticator } from './server.js';

export function clusterAuthenticator(adminToken: string, pki: ClusterPki): Authenticator {
  return {
    authenticate(headers, peerCertificate) {
      const auth = headers.authorization;
      if (typeof auth === 'string' && checkBearer(auth, adminToken)) return 'admin';
      if (peerCertificate) {
        const verdict = pki.verifyClientCert(peerCertificate);
        if (verdict.ok) return verdict.commonName;
      }
      return undefined;
    },
  };
}
