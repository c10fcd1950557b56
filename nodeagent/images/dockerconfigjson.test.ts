import { describe, expect, it } from 'vitest';
import { credentialsFromDockerConfig, credentialsFromSecret } from './dockerconfigjson.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('credentialsFromDockerConfig', () => {
  const config = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hub:hubpass') },
      '127.0.0.1:5000': { username: 'local', password: 'pw' },
      'http://reg.example:5001/v2/': {
        auth: b64('both:from-auth'),
        username: 'ignored',
        password: 'ignored',
      },
      'colon.example': { auth: b64('user:pa:ss') },
      'broken.example': { auth: b64('no-colon') },
    },
  });
  const cases: [host: string, want: { username: string; password: string } | undefined][] = [
    ['docker.io', { username: 'hub', password: 'hubpass' }],
    ['127.0.0.1:5000', { username: 'local', password: 'pw' }],
    ['127.0.0.1:5001', undefined],
    ['reg.example:5001', { username: 'both', password: 'from-auth' }],
    ['colon.example', { username: 'user', password: 'pa:ss' }],
    ['broken.example', undefined],
    ['elsewhere.example', undefined],
  ];
  it.each(cases)('%s', (host, want) => {
    expect(credentialsFromDockerConfig(config, host)).toEqual(want);
  });

  it('ignores text that is not a docker config', () => {
    expect(credentialsFromDockerConfig('not json', 'docker.io')).toBeUndefined();
    expect(credentialsFromDockerConfig('{"auths": []}', 'docker.io')).toBeUndefined();
  });
});

describe('credentialsFromSecret', () => {
  const json = JSON.stringify({ auths: { 'registry:5000': { auth: b64('u:p') } } });
  it('reads base64 data of a dockerconfigjson Secret', () => {
    const secret = {
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64(json) },
    };
    expect(credentialsFromSecret(secret, 'registry:5000')).toEqual({
      username: 'u',
      password: 'p',
    });
  });
  it('reads stringData when data is absent', () => {
    const secret = {
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': json },
    };
    expect(credentialsFromSecret(secret, 'registry:5000')).toEqual({
      username: 'u',
      password: 'p',
    });
  });
  it('ignores Secrets of other types', () => {
    const secret = { type: 'Opaque', data: { '.dockerconfigjson': b64(json) } };
    expect(credentialsFromSecret(secret, 'registry:5000')).toBeUndefined();
  });
});
