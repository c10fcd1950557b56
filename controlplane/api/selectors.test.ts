// Specification tables for label and field selectors. Most rows come from
// Kubernetes' own documentation (concepts/overview/working-with-objects:
// "Labels and Selectors", "Field Selectors") and from apimachinery's
// pkg/labels and pkg/fields tests; the error texts are what the Go code prints.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from './objects.js';
import type {
  FieldRequirement,
  LabelSelectorObject,
  LabelSelectorRequirement,
} from './selectors.js';
import {
  fieldsOf,
  formatLabelSelector,
  fromLabelSelector,
  labelKeyErrors,
  labelValueErrors,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  supportedFields,
} from './selectors.js';
import { ApiError } from './status.js';

// Written out by hand (not imported) so the tests pin Go's exact wording,
// including the doubled space before "or".
const KEY_REGEX =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_REGEX =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const PREFIX_REGEX =
  "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const BINARY_OPS = 'in, notin, =, ==, !=, gt, lt';
const PARSE = 'unable to parse requirement: ';

const req = (
  key: string,
  operator: LabelSelectorRequirement['operator'],
  values: string[] = [],
): LabelSelectorRequirement => ({ key, operator, values });

/** Runs fn and returns the ApiError it throws, failing the test if it does not. */
function apiErrorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected an ApiError, nothing was thrown');
}

describe('parseLabelSelector', () => {
  const good: [string, LabelSelectorRequirement[]][] = [
    ['', []],
    // Documented equality-based examples.
    ['environment = production', [req('environment', 'Equals', ['production'])]],
    ['tier != frontend', [req('tier', 'NotEquals', ['frontend'])]],
    [
      'environment=production,tier!=frontend',
      [req('environment', 'Equals', ['production']), req('tier', 'NotEquals', ['frontend'])],
    ],
    // Documented set-based examples; values come back sorted.
    ['environment in (production, qa)', [req('environment', 'In', ['production', 'qa'])]],
    ['tier notin (frontend, backend)', [req('tier', 'NotIn', ['backend', 'frontend'])]],
    ['partition', [req('partition', 'Exists')]],
    ['!partition', [req('partition', 'DoesNotExist')]],
    [
      'partition in (customerA, customerB),environment!=qa',
      [req('environment', 'NotEquals', ['qa']), req('partition', 'In', ['customerA', 'customerB'])],
    ],
    [
      'environment in (production),tier in (frontend)',
      [req('environment', 'In', ['production']), req('tier', 'In', ['frontend'])],
    ],
    [
      'environment,environment notin (frontend)',
      [req('environment', 'Exists'), req('environment', 'NotIn', ['frontend'])],
    ],
    // apimachinery's parser tests.
    ['x==a', [req('x', 'Equals', ['a'])]],
    ['x=', [req('x', 'Equals', [''])]],
    ['x= ,z= ', [req('x', 'Equals', ['']), req('z', 'Equals', [''])]],
    ['\rx', [req('x', 'Exists')]],
    ['foo  in\t (abc)', [req('foo', 'In', ['abc'])]],
    ['x notin\n (abc)', [req('x', 'NotIn', ['abc'])]],
    ['x in (abc,)', [req('x', 'In', ['', 'abc'])]],
    ['x in (abc,abc)', [req('x', 'In', ['abc'])]],
    ['x in ()', [req('x', 'In', [''])]],
    ['x in (a,,,,,,)', [req('x', 'In', ['', 'a'])]],
    ['x in (a,,a,,a,,a,,)', [req('x', 'In', ['', 'a'])]],
    [
      'x notin (abc,,def),bar,z in (),w',
      [
        req('bar', 'Exists'),
        req('w', 'Exists'),
        req('x', 'NotIn', ['', 'abc', 'def']),
        req('z', 'In', ['']),
      ],
    ],
    // "in" and "notin" are plain words where a value or key stands.
    ['a in (x,y,notin, z,in)', [req('a', 'In', ['in', 'notin', 'x', 'y', 'z'])]],
    ['notin=in', [req('notin', 'Equals', ['in'])]],
    [
      'this-is-another-dns.domain.com/key-with-dash in (so,what)',
      [req('this-is-another-dns.domain.com/key-with-dash', 'In', ['so', 'what'])],
    ],
    [
      '0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)',
      [req('0.1.2.domain/99', 'NotIn', ['10.10.100.1', 'tick.tack.clock'])],
    ],
    ['x>1,z<5', [req('x', 'Gt', ['1']), req('z', 'Lt', ['5'])]],
    ['app.kubernetes.io/name=web', [req('app.kubernetes.io/name', 'Equals', ['web'])]],
    ['x=' + 'a'.repeat(63), [req('x', 'Equals', ['a'.repeat(63)])]],
  ];
  it.each(good)('parses %j', (input, want) => {
    expect(parseLabelSelector(input)).toEqual(want);
  });

  it('is deterministic whatever the order of the terms', () => {
    expect(parseLabelSelector('x=a,a=x')).toEqual(parseLabelSelector('a=x,x=a'));
  });

  const bad: [string, string][] = [
    ['x=a||y=b', `${PARSE}values[0][x]: Invalid value: "a||y": ${VALUE_REGEX}`],
    ['x==a==b', "found '==', expected: ',' or 'end of string'"],
    ['!x=a', "found '=', expected: ',' or 'end of string'"],
    [
      'x<a',
      `${PARSE}values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    ['a in (xyz abc)', `${PARSE}found 'abc', expected: ',' or ')'`],
    ['a notin(', `${PARSE}found '', expected: ',', ')' or identifier`],
    ['a (', `${PARSE}found '(', expected: ${BINARY_OPS}`],
    ['a b', `${PARSE}found 'b', expected: ${BINARY_OPS}`],
    ['(', "found '(', expected: !, identifier, or 'end of string'"],
    ['x,', "found '', expected: identifier after ','"],
    ['x,,y', "found ',', expected: identifier after ','"],
    ['!', `${PARSE}found '', expected: identifier`],
    ['x in (a', `${PARSE}found '', expected: ',' or ')'`],
    ['x in a', `${PARSE}found 'a' expected: '('`],
    ['x=(', `${PARSE}found '(', expected: identifier`],
    ['x in (a,=)', `${PARSE}found '=', expected: ',', or identifier`],
    ['x in (a))', "found ')', expected: ',' or 'end of string'"],
    ['a@b=c', `${PARSE}<nil>: Invalid value: "a@b": ${KEY_REGEX}`],
    ['/a', `${PARSE}<nil>: Invalid value: "/a": prefix part must be non-empty`],
    ['a/', `${PARSE}<nil>: Invalid value: "a/": name part must be non-empty; ${KEY_REGEX}`],
    ['Example.com/a', `${PARSE}<nil>: Invalid value: "Example.com/a": ${PREFIX_REGEX}`],
    [
      'example.com/a/b',
      `${PARSE}<nil>: Invalid value: "example.com/a/b": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    [
      'a'.repeat(64),
      `${PARSE}<nil>: Invalid value: "${'a'.repeat(64)}": name part must be no more than 63 bytes`,
    ],
    [
      `x=${'a'.repeat(64)}`,
      `${PARSE}values[0][x]: Invalid value: "${'a'.repeat(64)}": must be no more than 63 bytes`,
    ],
    ['x in (-a)', `${PARSE}values[0][x]: Invalid value: "-a": ${VALUE_REGEX}`],
  ];
  it.each(bad)('rejects %j', (input, message) => {
    const err = apiErrorOf(() => parseLabelSelector(input));
    expect(err.reason).toBe('BadRequest');
    expect(err.code).toBe(400);
    expect(err.message).toBe(message);
  });
});

describe('matchesLabels', () => {
  const labels = { environment: 'production', tier: 'frontend', partition: 'customerA' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', { x: 'y' }, true],
    ['', undefined, true],
    ['x=y', { x: 'y' }, true],
    ['x=y,z=w', { x: 'y', z: 'w' }, true],
    ['x!=y,z!=w', { x: 'z', z: 'a' }, true],
    ['notin=in', { notin: 'in' }, true],
    ['x', { x: 'z' }, true],
    ['!x', { y: 'z' }, true],
    ['x>1', { x: '2' }, true],
    ['x<1', { x: '0' }, true],
    ['x=z', {}, false],
    ['x=y', { x: 'z' }, false],
    ['x=y,z=w', { x: 'w', z: 'w' }, false],
    ['x!=y,z!=w', { x: 'z', z: 'w' }, false],
    ['x', { y: 'z' }, false],
    ['!x', { x: 'z' }, false],
    ['x>1', { x: '0' }, false],
    ['x<1', { x: '2' }, false],
    ['x>1', { x: 'v2' }, false],
    ['x>1', {}, false],
    // != and notin also select objects that lack the key.
    ['x!=y', {}, true],
    ['x!=y', undefined, true],
    ['x notin (a,b)', {}, true],
    ['x notin (a,b)', { x: 'a' }, false],
    ['x notin ()', { y: '' }, true],
    ['x notin ()', { x: '' }, false],
    ['x in ()', { x: '' }, true],
    ['x in ()', { y: 'baz' }, false],
    ['x=', { x: '' }, true],
    ['x=', {}, false],
    ['environment in (production, qa)', labels, true],
    ['environment in (qa)', labels, false],
    ['tier notin (frontend, backend)', labels, false],
    ['partition,!release', labels, true],
    ['partition in (customerA, customerB),environment!=qa', labels, true],
    // Keys are own properties only, never Object.prototype's.
    ['constructor', {}, false],
    ['!toString', {}, true],
  ];
  it.each(cases)('%j against %j → %s', (selector, set, want) => {
    expect(matchesLabels(parseLabelSelector(selector), set)).toBe(want);
  });
});

describe('fromLabelSelector', () => {
  it('selects nothing for a missing selector and everything for an empty one', () => {
    expect(fromLabelSelector(null)).toBe('nothing');
    expect(fromLabelSelector(undefined)).toBe('nothing');
    expect(fromLabelSelector({})).toEqual([]);
    expect(fromLabelSelector({ matchLabels: {}, matchExpressions: [] })).toEqual([]);
  });

  const good: [LabelSelectorObject, LabelSelectorRequirement[], string][] = [
    [{ matchLabels: { app: 'web' } }, [req('app', 'Equals', ['web'])], 'app=web'],
    [
      // The documented Deployment/ReplicaSet selector, sorted by key.
      {
        matchLabels: { component: 'redis' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['cache'] },
          { key: 'environment', operator: 'NotIn', values: ['dev'] },
        ],
      },
      [
        req('component', 'Equals', ['redis']),
        req('environment', 'NotIn', ['dev']),
        req('tier', 'In', ['cache']),
      ],
      'component=redis,environment notin (dev),tier in (cache)',
    ],
    [
      // Values keep their order; only the string form sorts them.
      {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }],
      },
      [req('app', 'Equals', ['web']), req('tier', 'In', ['b', 'a'])],
      'app=web,tier in (a,b)',
    ],
    [
      {
        matchExpressions: [
          { key: 'gpu', operator: 'Exists' },
          { key: 'spot', operator: 'DoesNotExist', values: [] },
        ],
      },
      [req('gpu', 'Exists'), req('spot', 'DoesNotExist')],
      'gpu,!spot',
    ],
  ];
  it.each(good)('converts %j', (sel, want, formatted) => {
    expect(fromLabelSelector(sel)).toEqual(want);
    expect(formatLabelSelector(sel)).toBe(formatted);
  });

  it('matches the way the selector object reads', () => {
    const reqs = fromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }],
    });
    expect(reqs).not.toBe('nothing');
    if (reqs === 'nothing') return;
    expect(matchesLabels(reqs, { app: 'web' })).toBe(true);
    expect(matchesLabels(reqs, { app: 'web', tier: 'front' })).toBe(true);
    expect(matchesLabels(reqs, { app: 'web', tier: 'db' })).toBe(false);
    expect(matchesLabels(reqs, { tier: 'front' })).toBe(false);
  });

  const bad: [LabelSelectorObject, string][] = [
    [
      { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] },
      '"Equals" is not a valid label selector operator',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'in', values: ['b'] }] },
      '"in" is not a valid label selector operator',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'NotIn' }] },
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
    ],
    [
      { matchExpressions: [{ key: 'bad key', operator: 'Exists' }] },
      `key: Invalid value: "bad key": ${KEY_REGEX}`,
    ],
    [{ matchLabels: { app: 'a b' } }, `values[0][app]: Invalid value: "a b": ${VALUE_REGEX}`],
    [
      { matchExpressions: [{ key: '-a', operator: 'In', values: [] }] },
      `[key: Invalid value: "-a": ${KEY_REGEX}, values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty]`,
    ],
  ];
  it.each(bad)('rejects %j', (sel, message) => {
    const err = apiErrorOf(() => fromLabelSelector(sel));
    expect(err.reason).toBe('BadRequest');
    expect(err.message).toBe(message);
  });
});

describe('formatLabelSelector', () => {
  // apimachinery's round-trip and String() tests (`x==a` prints as `x=a`:
  // the two spellings are one operator here).
  const roundTrips: [string, string][] = [
    ['x=a,y=b,z=c', 'x=a,y=b,z=c'],
    ['', ''],
    ['x!=a,y=b', 'x!=a,y=b'],
    ['x=', 'x='],
    ['x= ', 'x='],
    ['x=,z= ', 'x=,z='],
    ['!x', '!x'],
    ['x>1', 'x>1'],
    ['x>1,z<5', 'x>1,z<5'],
    ['x in (def, abc),y notin (jkl),z', 'x in (abc,def),y notin (jkl),z'],
    ['x notin (abc,def),y!=jkl,!z', 'x notin (abc,def),y!=jkl,!z'],
    ['x notin (abc),y in (jkl,mno),z notin ()', 'x notin (abc),y in (jkl,mno),z notin ()'],
    ['x==abc', 'x=abc'],
    ['tier in (b,a),app=web', 'app=web,tier in (a,b)'],
  ];
  it.each(roundTrips)('prints %j as %j', (input, want) => {
    const printed = formatLabelSelector(parseLabelSelector(input));
    expect(printed).toBe(want);
    expect(parseLabelSelector(printed)).toEqual(parseLabelSelector(input));
  });

  it('prints nothing and everything as the empty string', () => {
    expect(formatLabelSelector(null)).toBe('');
    expect(formatLabelSelector(undefined)).toBe('');
    expect(formatLabelSelector({})).toBe('');
    expect(formatLabelSelector([])).toBe('');
  });
});

describe('label key and value syntax', () => {
  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['kubernetes.io/hostname', true],
    ['MyName', true],
    ['my.name', true],
    ['123-abc', true],
    ['a'.repeat(63), true],
    [`${'a'.repeat(253)}/x`, true],
    [`${'a'.repeat(254)}/x`, false],
    ['a'.repeat(64), false],
    ['', false],
    ['-a', false],
    ['a_', false],
    ['a b', false],
    ['UPPER.example.com/x', false],
    ['a/b/c', false],
  ])('key %j valid: %s', (key, valid) => {
    expect(labelKeyErrors(key).length === 0).toBe(valid);
  });

  it.each([
    ['', true],
    ['MyValue', true],
    ['my_value', true],
    ['12345', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['_a', false],
    ['a.', false],
    ['a/b', false],
    ['é', false],
  ])('value %j valid: %s', (value, valid) => {
    expect(labelValueErrors(value).length === 0).toBe(valid);
  });

  it('lists every problem of a long invalid value, as Go does', () => {
    expect(labelValueErrors(`-${'a'.repeat(63)}`)).toEqual([
      'must be no more than 63 bytes',
      VALUE_REGEX,
    ]);
  });
});

describe('parseFieldSelector', () => {
  const pod = supportedFields('Pod');
  const meta = supportedFields('ConfigMap');
  const f = (field: string, operator: '=' | '!=', value: string): FieldRequirement => ({
    field,
    operator,
    value,
  });
  const good: [string, readonly string[], FieldRequirement[]][] = [
    ['', pod, []],
    // Documented examples.
    ['metadata.name=my-service', meta, [f('metadata.name', '=', 'my-service')]],
    ['metadata.namespace!=default', meta, [f('metadata.namespace', '!=', 'default')]],
    ['status.phase=Pending', pod, [f('status.phase', '=', 'Pending')]],
    [
      'status.phase!=Running,spec.restartPolicy=Always',
      pod,
      [f('spec.restartPolicy', '=', 'Always'), f('status.phase', '!=', 'Running')],
    ],
    ['spec.nodeName==node-1', pod, [f('spec.nodeName', '=', 'node-1')]],
    // What the scheduler asks for: pods bound to no node.
    ['spec.nodeName=', pod, [f('spec.nodeName', '=', '')]],
    ['metadata.name=a,', meta, [f('metadata.name', '=', 'a')]],
    [',metadata.name=a', meta, [f('metadata.name', '=', 'a')]],
    // Escapes, from apimachinery's tests.
    ['metadata.name=a\\,b', meta, [f('metadata.name', '=', 'a,b')]],
    ['metadata.name=a\\=\\=b', meta, [f('metadata.name', '=', 'a==b')]],
    ['metadata.name=\\=value\\\\\\,\\\\', meta, [f('metadata.name', '=', '=value\\,\\')]],
    ['metadata.name=함', meta, [f('metadata.name', '=', '함')]],
    // Old v1 clients say spec.host; the apiserver reads it as spec.nodeName.
    ['spec.host=node-1', pod, [f('spec.nodeName', '=', 'node-1')]],
  ];
  it.each(good)('parses %j', (input, supported, want) => {
    expect(parseFieldSelector(input, supported)).toEqual(want);
  });

  const bad: [string, readonly string[], string][] = [
    ['metadata.name', meta, "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['x=a,b', ['x'], "invalid selector: 'x=a,b'; can't understand 'b'"],
    ['x in (a)', ['x'], "invalid selector: 'x in (a)'; can't understand 'x in (a)'"],
    ['x=a||y=b', ['x'], 'invalid field selector: unescaped character in value: 61'],
    ['x==a==b', ['x'], 'invalid field selector: unescaped character in value: 61'],
    ['x=a\\b', ['x'], 'invalid field selector: invalid escape sequence: \\b'],
    ['x=a\\', ['x'], 'invalid field selector: invalid escape sequence: \\'],
    ['foo.bar=baz', meta, 'field label not supported: foo.bar'],
    ['=x', meta, 'field label not supported: '],
    // Spaces are part of the name, as in Kubernetes.
    ['status.phase = Running', pod, 'field label not supported: status.phase '],
    [
      'metadata.namespace=default',
      supportedFields('Node'),
      'field label not supported: metadata.namespace',
    ],
    [
      'status.replicas=0',
      supportedFields('ReplicaSet'),
      'field label not supported: status.replicas',
    ],
    // The whole string parses before any field name is checked.
    ['zzz=1,metadata.name=a\\q', meta, 'invalid field selector: invalid escape sequence: \\q'],
  ];
  it.each(bad)('rejects %j', (input, supported, message) => {
    const err = apiErrorOf(() => parseFieldSelector(input, supported));
    expect(err.reason).toBe('BadRequest');
    expect(err.code).toBe(400);
    expect(err.message).toBe(message);
  });
});

describe('matchesFields', () => {
  const fields = { foo: 'bar', baz: 'blah', complex: '=value\\,\\' };
  const all = Object.keys(fields);
  it.each([
    ['', true],
    ['foo=bar', true],
    ['baz=blah', true],
    ['foo=bar,baz=blah', true],
    ['foo=bar,baz=blah,complex=\\=value\\\\\\,\\\\', true],
    ['foo=blah', false],
    ['baz=bar', false],
    ['foo!=bar', false],
    ['foo!=x', true],
  ])('%j → %s', (selector, want) => {
    expect(matchesFields(parseFieldSelector(selector, all), fields)).toBe(want);
  });

  it('reads an absent field as the empty string', () => {
    expect(matchesFields([{ field: 'missing', operator: '=', value: '' }], {})).toBe(true);
    expect(matchesFields([{ field: 'missing', operator: '!=', value: '' }], {})).toBe(false);
    expect(matchesFields([{ field: 'toString', operator: '=', value: '' }], {})).toBe(true);
  });
});

describe('fieldsOf', () => {
  const pod = (
    spec: Record<string, unknown>,
    status: Record<string, unknown> = {},
  ): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default' },
    spec,
    status,
  });

  it('offers the pod fields Kubernetes offers', () => {
    const obj = pod(
      {
        nodeName: 'node-1',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        serviceAccountName: 'default',
        hostNetwork: true,
      },
      {
        phase: 'Running',
        podIP: '10.0.0.9',
        podIPs: [{ ip: '10.0.0.7' }, { ip: 'fd00::7' }],
        nominatedNodeName: 'node-2',
      },
    );
    expect(fieldsOf('Pod', obj)).toEqual({
      'metadata.name': 'web-1',
      'metadata.namespace': 'default',
      'spec.nodeName': 'node-1',
      'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler',
      'spec.serviceAccountName': 'default',
      'spec.hostNetwork': 'true',
      'status.phase': 'Running',
      'status.podIP': '10.0.0.7',
      'status.nominatedNodeName': 'node-2',
    });
  });

  it('gives missing pod fields their zero values', () => {
    const fields = fieldsOf('Pod', pod({}));
    expect(fields['spec.nodeName']).toBe('');
    expect(fields['spec.hostNetwork']).toBe('false');
    expect(fields['status.podIP']).toBe('');
    expect(fieldsOf('Pod', pod({}, { podIP: '10.0.0.9' }))['status.podIP']).toBe('10.0.0.9');
  });

  it('lets the scheduler select unbound pods with spec.nodeName=', () => {
    const unbound = parseFieldSelector('spec.nodeName=', supportedFields('Pod'));
    const onNode1 = parseFieldSelector('spec.nodeName=node-1', supportedFields('Pod'));
    const bound = pod({ nodeName: 'node-1' });
    const pending = pod({});
    expect(matchesFields(unbound, fieldsOf('Pod', pending))).toBe(true);
    expect(matchesFields(unbound, fieldsOf('Pod', bound))).toBe(false);
    expect(matchesFields(onNode1, fieldsOf('Pod', bound))).toBe(true);
    // status.podIPs is accepted but never in the field set, so it reads as "".
    const podIPs = parseFieldSelector('status.podIPs=', supportedFields('Pod'));
    expect(matchesFields(podIPs, fieldsOf('Pod', bound))).toBe(true);
  });

  it('offers node, namespace, secret, service, job and controller fields', () => {
    const node: KubeObject = { metadata: { name: 'n1' }, spec: { unschedulable: true } };
    expect(fieldsOf('Node', node)).toMatchObject({
      'metadata.name': 'n1',
      'spec.unschedulable': 'true',
    });
    expect(fieldsOf('Node', { metadata: { name: 'n2' } })['spec.unschedulable']).toBe('false');
    expect(
      fieldsOf('Namespace', { metadata: { name: 'ns' }, status: { phase: 'Terminating' } }),
    ).toMatchObject({ 'status.phase': 'Terminating' });
    expect(
      fieldsOf('Secret', { metadata: { name: 's', namespace: 'a' }, type: 'kubernetes.io/tls' }),
    ).toMatchObject({ type: 'kubernetes.io/tls', 'metadata.namespace': 'a' });
    expect(
      fieldsOf('Service', {
        metadata: { name: 'svc' },
        spec: { clusterIP: 'None', type: 'ClusterIP' },
      }),
    ).toMatchObject({ 'spec.clusterIP': 'None', 'spec.type': 'ClusterIP' });
    expect(fieldsOf('Job', { metadata: { name: 'j' }, status: { succeeded: 3 } })).toMatchObject({
      'status.successful': '3',
    });
    expect(fieldsOf('Job', { metadata: { name: 'j' } })['status.successful']).toBe('0');
    expect(
      fieldsOf('ReplicationController', { metadata: { name: 'rc' }, status: { replicas: 2 } }),
    ).toMatchObject({ 'status.replicas': '2' });
  });

  it('offers event fields, with source falling back to reportingComponent', () => {
    const event: KubeObject = {
      metadata: { name: 'web-1.17a', namespace: 'default' },
      involvedObject: {
        kind: 'Pod',
        namespace: 'default',
        name: 'web-1',
        uid: 'u-1',
        apiVersion: 'v1',
        resourceVersion: '42',
        fieldPath: 'spec.containers{web}',
      },
      reason: 'Scheduled',
      type: 'Normal',
      reportingComponent: 'default-scheduler',
    };
    expect(fieldsOf('Event', event)).toEqual({
      'metadata.name': 'web-1.17a',
      'metadata.namespace': 'default',
      'involvedObject.kind': 'Pod',
      'involvedObject.namespace': 'default',
      'involvedObject.name': 'web-1',
      'involvedObject.uid': 'u-1',
      'involvedObject.apiVersion': 'v1',
      'involvedObject.resourceVersion': '42',
      'involvedObject.fieldPath': 'spec.containers{web}',
      reason: 'Scheduled',
      reportingComponent: 'default-scheduler',
      source: 'default-scheduler',
      type: 'Normal',
    });
    const withSource = { ...event, source: { component: 'kubelet', host: 'node-1' } };
    expect(fieldsOf('Event', withSource)['source']).toBe('kubelet');
    const sel = parseFieldSelector(
      'involvedObject.kind=Pod,involvedObject.name=web-1,type!=Warning',
      supportedFields('Event'),
    );
    expect(matchesFields(sel, fieldsOf('Event', event))).toBe(true);
  });

  it('gives the other kinds metadata.name and metadata.namespace only', () => {
    const cm: KubeObject = { metadata: { name: 'cfg', namespace: 'prod' }, data: { a: 'b' } };
    expect(fieldsOf('ConfigMap', cm)).toEqual({
      'metadata.name': 'cfg',
      'metadata.namespace': 'prod',
    });
    for (const kind of [
      'ConfigMap',
      'Deployment',
      'ReplicaSet',
      'DaemonSet',
      'StatefulSet',
      'Lease',
    ]) {
      expect(supportedFields(kind)).toEqual(['metadata.name', 'metadata.namespace']);
    }
  });

  it.each([
    'Pod',
    'Node',
    'Namespace',
    'Event',
    'Secret',
    'Service',
    'Job',
    'ReplicationController',
    'ConfigMap',
  ])('%s: every supported field is in its field set', (kind) => {
    const fields = fieldsOf(kind, { metadata: {} });
    const offered = supportedFields(kind).filter((f) => f !== 'spec.host' && f !== 'status.podIPs');
    for (const f of offered) expect(Object.keys(fields)).toContain(f);
  });
});
