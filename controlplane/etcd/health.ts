// etcd's own health endpoint: GET <client url>/health answers {"health":"true"}
// once the member sees a leader and no alarm (such as NOSPACE) is raised.

import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdError } from './errors.js';

/** Whether the member at `clientUrl` (http://127.0.0.1:PORT) reports healthy now. Never throws. */
export function isHealthy(clientUrl: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${clientUrl}/health`, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(res.statusCode === 200 && parseHealth(body)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function parseHealth(body: string): boolean {
  try {
    const parsed: unknown = JSON.parse(body);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      'health' in parsed &&
      parsed.health === 'true'
    );
  } catch {
    return false;
  }
}

/**
 * Polls `clientUrl` until it reports healthy. Rejects with EtcdError 'Exited'
 * as soon as `exited` settles (the process is gone, waiting longer is pointless)
 * and with 'Timeout' after `timeoutMs`.
 */
export async function waitHealthy(opts: {
  clientUrl: string;
  timeoutMs: number;
  exited: Promise<unknown>;
  intervalMs?: number;
}): Promise<void> {
  let gone = false;
  const exited = opts.exited.then(
    () => {
      gone = true;
    },
    () => {
      gone = true;
    },
  );
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (gone) throw new EtcdError('Exited', 'etcd exited before it became healthy');
    if (await isHealthy(opts.clientUrl)) return;
    if (Date.now() >= deadline) {
      throw new EtcdError(
        'Timeout',
        `etcd at ${opts.clientUrl} not healthy after ${opts.timeoutMs} ms`,
      );
    }
    // Wake early when the process exits, so a failed start is reported at once.
    await Promise.race([sleep(opts.intervalMs ?? 100), exited]);
  }
}
