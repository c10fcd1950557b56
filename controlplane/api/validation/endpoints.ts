// Endpoints, as Go's ValidateEndpoints checks them: every subset has
// addresses, every address is a routable IP (not loopback, link-local or
// unspecified), every port a valid number with a protocol.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import {
  child,
  index,
  invalidEach,
  notSupported,
  readInt,
  readList,
  readString,
  recordItems,
  required,
} from './field.js';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  ipErrors,
  portNumErrors,
  specialIPErrors,
} from './names.js';
import { PROTOCOLS } from './pod-spec.js';

export function validateEndpoints(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const [s, i] of recordItems(readList(obj, 'subsets', '', errs), 'subsets', errs)) {
    const sPath = index('subsets', i);
    const addresses = readList(s, 'addresses', sPath, errs) ?? [];
    const notReady = readList(s, 'notReadyAddresses', sPath, errs) ?? [];
    if (addresses.length === 0 && notReady.length === 0) {
      errs.push(required(sPath, 'must specify `addresses` or `notReadyAddresses`'));
    }
    for (const field of ['addresses', 'notReadyAddresses']) {
      const list = field === 'addresses' ? addresses : notReady;
      for (const [a, j] of recordItems(list, child(sPath, field), errs)) {
        const aPath = index(child(sPath, field), j);
        const ip = readString(a, 'ip', aPath, errs) ?? '';
        const ipMsgs = ipErrors(ip);
        errs.push(
          ...invalidEach(child(aPath, 'ip'), ip, ipMsgs.length ? ipMsgs : specialIPErrors(ip)),
        );
        const hostname = readString(a, 'hostname', aPath, errs);
        if (hostname)
          errs.push(
            ...invalidEach(child(aPath, 'hostname'), hostname, dns1123LabelErrors(hostname)),
          );
        const nodeName = readString(a, 'nodeName', aPath, errs);
        if (nodeName)
          errs.push(
            ...invalidEach(child(aPath, 'nodeName'), nodeName, dns1123SubdomainErrors(nodeName)),
          );
      }
    }
    const ports = readList(s, 'ports', sPath, errs) ?? [];
    for (const [p, j] of recordItems(ports, child(sPath, 'ports'), errs)) {
      const pPath = index(child(sPath, 'ports'), j);
      const name = readString(p, 'name', pPath, errs) ?? '';
      if (!name && ports.length > 1) errs.push(required(child(pPath, 'name')));
      else if (name)
        errs.push(...invalidEach(child(pPath, 'name'), name, dns1123LabelErrors(name)));
      const port = readInt(p, 'port', pPath, errs) ?? 0;
      errs.push(...invalidEach(child(pPath, 'port'), port, portNumErrors(port)));
      // Go defaults an endpoint port's protocol to TCP.
      const protocol = readString(p, 'protocol', pPath, errs) ?? 'TCP';
      if (!PROTOCOLS.includes(protocol))
        errs.push(notSupported(child(pPath, 'protocol'), protocol, PROTOCOLS));
    }
  }
  return errs;
}
