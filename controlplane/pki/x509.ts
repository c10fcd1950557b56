// The one door to @peculiar/x509 inside the PKI: the Reflect metadata shim has to
// be in place before the library loads, and the library has to be pointed at
// Node's WebCrypto before it signs anything. Import `x509` from here, never from
// '@peculiar/x509' directly (a type-only import is fine).
import './reflect-metadata-shim.js';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
