import { describe, expect, it } from 'vitest';
import { requestInfo, storageTypeOfKey } from './request-info.js';

describe('requestInfo', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', 'list', '', 'pods', '', false, true],
    ['GET', '/api/v1/pods?watch=true&resourceVersion=5', 'watch', '', 'pods', '', true, true],
    ['GET', '/api/v1/watch/namespaces/default/pods', 'watch', '', 'pods', '', true, true],
    ['GET', '/api/v1/namespaces/default/pods/web-1', 'get', '', 'pods', '', false, true],
    [
      'GET',
      '/api/v1/namespaces/default/pods/web-1/log?follow=true',
      'get',
      '',
      'pods',
      'log',
      true,
      true,
    ],
    ['POST', '/api/v1/namespaces/default/pods', 'create', '', 'pods', '', false, false],
    [
      'POST',
      '/api/v1/namespaces/default/pods/web-1/binding',
      'create',
      '',
      'pods',
      'binding',
      false,
      false,
    ],
    [
      'PUT',
      '/api/v1/namespaces/default/pods/web-1/status',
      'update',
      '',
      'pods',
      'status',
      false,
      false,
    ],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/web',
      'patch',
      'apps',
      'deployments',
      '',
      false,
      false,
    ],
    [
      'DELETE',
      '/apis/apps/v1/namespaces/default/deployments/web',
      'delete',
      'apps',
      'deployments',
      '',
      false,
      false,
    ],
    ['DELETE', '/api/v1/namespaces/default/pods', 'deletecollection', '', 'pods', '', false, false],
    ['GET', '/api/v1/nodes', 'list', '', 'nodes', '', false, true],
    [
      'PUT',
      '/api/v1/namespaces/kube-system/finalize',
      'update',
      '',
      'namespaces',
      'finalize',
      false,
      false,
    ],
    ['GET', '/api/v1/namespaces/kube-system', 'get', '', 'namespaces', '', false, true],
    ['GET', '/healthz', 'get', '', '', '', false, true],
    ['GET', '/metrics', 'get', '', '', '', false, true],
    // Unknown resources must not become label values.
    ['GET', '/api/v1/namespaces/default/not-a-resource-1234', 'get', '', '', '', false, true],
    ['GET', '/apis/example.com/v1/widgets', 'get', '', '', '', false, true],
  ] as const)('%s %s → %s', (method, url, verb, group, resource, sub, long, ro) => {
    expect(requestInfo(method, url)).toEqual({
      verb,
      group,
      resource,
      subresource: sub,
      longRunning: long,
      readOnly: ro,
    });
  });
});

describe('storageTypeOfKey', () => {
  it.each([
    ['/registry/pods/default/web-1', 'pods'],
    ['/registry/pods/', 'pods'],
    ['/registry/nodes/n1', 'nodes'],
    ['/shoal/leader/x', ''],
    ['', ''],
  ])('%s → %s', (key, type) => expect(storageTypeOfKey(key)).toBe(type));
});
