// Services, as Go's ValidateService checks them: type, ports (number,
// protocol, targetPort, nodePort, names), clusterIP syntax, selector labels.
// The nodePort range is the allocator's default, 30000–32767.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { validateLabels } from './labels.js';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  invalidEach,
  notSupported,
  readInt,
  readList,
  readSpec,
  readString,
  readStringMap,
  recordItems,
  required,
} from './field.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, ipErrors, portNumErrors } from './names.js';
import { PROTOCOLS, validatePortNumOrName } from './pod-spec.js';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const SESSION_AFFINITIES = ['ClientIP', 'None'];
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

export function validateService(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  const type = readString(spec, 'type', 'spec', errs) ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(notSupported('spec.type', type, SERVICE_TYPES));
  const clusterIP = readString(spec, 'clusterIP', 'spec', errs) ?? '';
  const headless = clusterIP === 'None';

  if (type === 'ExternalName') {
    // The name may end in a dot to mark it fully qualified.
    const cname = (readString(spec, 'externalName', 'spec', errs) ?? '').replace(/\.$/, '');
    if (!cname) errs.push(required('spec.externalName'));
    else
      errs.push(
        ...invalidEach('spec.externalName', spec.externalName, dns1123SubdomainErrors(cname)),
      );
    if (clusterIP && !headless)
      errs.push(forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  } else if (clusterIP && !headless) {
    errs.push(...invalidEach('spec.clusterIP', clusterIP, ipErrors(clusterIP)));
  } else if (headless && (type === 'NodePort' || type === 'LoadBalancer')) {
    errs.push(
      invalid('spec.clusterIP', clusterIP, `may not be set to 'None' for ${type} services`),
    );
  }
  const clusterIPsPath = 'spec.clusterIPs';
  (readList(spec, 'clusterIPs', 'spec', errs) ?? []).forEach((ip, i) => {
    if (typeof ip !== 'string')
      errs.push(invalid(index(clusterIPsPath, i), ip, 'must be a string'));
    else if (i === 0 && clusterIP && ip !== clusterIP) {
      errs.push(
        invalid(index(clusterIPsPath, i), ip, 'must match `clusterIP` when both are specified'),
      );
    } else if (ip !== 'None') errs.push(...invalidEach(index(clusterIPsPath, i), ip, ipErrors(ip)));
  });

  const ports = readList(spec, 'ports', 'spec', errs);
  if ((!ports || ports.length === 0) && !headless && type !== 'ExternalName')
    errs.push(required('spec.ports'));
  const requireName = (ports?.length ?? 0) > 1;
  const names = new Set<string>();
  const portKeys = new Set<string>();
  const nodePorts = new Set<string>();
  for (const [p, i] of recordItems(ports, 'spec.ports', errs)) {
    const path = index('spec.ports', i);
    const name = readString(p, 'name', path, errs) ?? '';
    if (!name && requireName) errs.push(required(child(path, 'name')));
    else if (name) {
      errs.push(...invalidEach(child(path, 'name'), name, dns1123LabelErrors(name)));
      if (names.has(name)) errs.push(duplicate(child(path, 'name'), name));
      names.add(name);
    }
    const port = readInt(p, 'port', path, errs) ?? 0;
    errs.push(...invalidEach(child(path, 'port'), port, portNumErrors(port)));
    const protocol = readString(p, 'protocol', path, errs) ?? 'TCP';
    if (!protocol) errs.push(required(child(path, 'protocol')));
    else if (!PROTOCOLS.includes(protocol))
      errs.push(notSupported(child(path, 'protocol'), protocol, PROTOCOLS));
    // The server defaults targetPort to port.
    if (p.targetPort !== undefined && p.targetPort !== null)
      validatePortNumOrName(p.targetPort, child(path, 'targetPort'), errs);
    const portKey = `${protocol}/${port}`;
    if (portKeys.has(portKey)) errs.push(duplicate(path, { protocol, port }));
    portKeys.add(portKey);

    const nodePort = readInt(p, 'nodePort', path, errs);
    if (nodePort) {
      const npPath = child(path, 'nodePort');
      if (type === 'ClusterIP')
        errs.push(forbidden(npPath, "may not be used when `type` is 'ClusterIP'"));
      else if (type === 'ExternalName')
        errs.push(forbidden(npPath, "may not be used when `type` is 'ExternalName'"));
      else if (nodePort < NODE_PORT_MIN || nodePort > NODE_PORT_MAX) {
        errs.push(
          invalid(
            npPath,
            nodePort,
            `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`,
          ),
        );
      } else {
        const npKey = `${protocol}/${nodePort}`;
        if (nodePorts.has(npKey)) errs.push(duplicate(npPath, nodePort));
        nodePorts.add(npKey);
      }
    }
  }
  errs.push(...validateLabels(readStringMap(spec, 'selector', 'spec', errs), 'spec.selector'));
  const affinity = readString(spec, 'sessionAffinity', 'spec', errs);
  if (affinity !== undefined && !SESSION_AFFINITIES.includes(affinity)) {
    errs.push(notSupported('spec.sessionAffinity', affinity, SESSION_AFFINITIES));
  }
  return errs;
}
