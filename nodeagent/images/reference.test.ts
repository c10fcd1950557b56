import { describe, expect, it } from 'vitest';
import { ImagePullError } from './errors.js';
import { formatImageReference, manifestReferenceOf, parseImageReference } from './reference.js';

const D = 'sha256:' + 'ab'.repeat(32);

describe('parseImageReference', () => {
  const good: [input: string, canonical: string, domain: string, path: string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'docker.io', 'library/busybox'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox'],
    ['user/app:v1', 'docker.io/user/app:v1', 'docker.io', 'user/app'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox'],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest', 'docker.io', 'library/busybox'],
    ['registry:5000/repo:tag', 'registry:5000/repo:tag', 'registry:5000', 'repo'],
    ['localhost:5000/x', 'localhost:5000/x:latest', 'localhost:5000', 'x'],
    ['localhost/x', 'localhost/x:latest', 'localhost', 'x'],
    ['127.0.0.1:5000/a/b/c:1.0', '127.0.0.1:5000/a/b/c:1.0', '127.0.0.1:5000', 'a/b/c'],
    ['ghcr.io/org/img', 'ghcr.io/org/img:latest', 'ghcr.io', 'org/img'],
    [`repo@${D}`, `docker.io/library/repo@${D}`, 'docker.io', 'library/repo'],
    [`registry:5000/repo:tag@${D}`, `registry:5000/repo:tag@${D}`, 'registry:5000', 'repo'],
    ['a/b__c-d.e_f:T.1-x', 'docker.io/a/b__c-d.e_f:T.1-x', 'docker.io', 'a/b__c-d.e_f'],
    ['[::1]:5000/x', '[::1]:5000/x:latest', '[::1]:5000', 'x'],
  ];
  it.each(good)('%s → %s', (input, canonical, domain, path) => {
    const ref = parseImageReference(input);
    expect(formatImageReference(ref)).toBe(canonical);
    expect(ref.domain).toBe(domain);
    expect(ref.path).toBe(path);
  });

  it('asks for the digest when there is one, else the tag', () => {
    expect(manifestReferenceOf(parseImageReference(`r:1@${D}`))).toBe(D);
    expect(manifestReferenceOf(parseImageReference('r:1'))).toBe('1');
    expect(manifestReferenceOf(parseImageReference('r'))).toBe('latest');
  });

  const bad: [input: string, message: RegExp][] = [
    ['', /empty/],
    [' busybox', /space/],
    ['BusyBox', /lowercase/],
    ['docker.io/Library/busybox', /lowercase/],
    ['busybox:', /tag/],
    ['busybox:-x', /tag/],
    ['busybox@sha256:abc', /digest/],
    [`busybox@sha512:${'a'.repeat(128)}`, /unsupported digest/],
    ['a//b', /reference format/],
    ['-a/b', /reference format/],
    ['host:port:x/b', /registry host|tag/],
    [`x/${'a'.repeat(256)}`, /longer than 255/],
  ];
  it.each(bad)('rejects %j', (input, message) => {
    let caught: unknown;
    try {
      parseImageReference(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ImagePullError);
    expect((caught as ImagePullError).reason).toBe('InvalidImageName');
    expect((caught as ImagePullError).message).toMatch(message);
  });
});
