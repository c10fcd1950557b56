import { describe, expect, it } from 'vitest';
import { runHealthChecks } from './health.js';

const checks = [
  { name: 'etcd', check: () => undefined },
  { name: 'informer-sync', check: async () => 'not synced' },
];

describe('runHealthChecks', () => {
  it('answers ok when every check passes', async () => {
    expect(await runHealthChecks('readyz', [checks[0]!], '')).toEqual({ status: 200, body: 'ok' });
  });

  it('lists every check with ?verbose, as Kubernetes does', async () => {
    const a = await runHealthChecks('readyz', [checks[0]!], 'verbose');
    expect(a.status).toBe(200);
    expect(a.body).toBe('[+]ping ok\n[+]etcd ok\nreadyz check passed\n');
  });

  it('fails with 503 naming the failed check', async () => {
    const a = await runHealthChecks('readyz', checks, '');
    expect(a.status).toBe(503);
    expect(a.body).toContain('[-]informer-sync failed: not synced');
    expect(a.body).toContain('readyz check failed');
  });

  it('skips excluded checks', async () => {
    const a = await runHealthChecks('readyz', checks, 'exclude=informer-sync&verbose=1');
    expect(a.status).toBe(200);
    expect(a.body).toContain('[+]informer-sync excluded: ok');
  });

  it('counts a throwing check as failed', async () => {
    const a = await runHealthChecks(
      'livez',
      [
        {
          name: 'boom',
          check: () => {
            throw new Error('broken');
          },
        },
      ],
      '',
    );
    expect(a).toMatchObject({ status: 503 });
    expect(a.body).toContain('[-]boom failed: broken');
  });
});
