// @peculiar/x509 depends on tsyringe, which refuses to load unless the global
// Reflect has the metadata API. This import must be evaluated before
// @peculiar/x509, which is why pki modules import the library only through ./x509.ts.
import 'reflect-metadata';
