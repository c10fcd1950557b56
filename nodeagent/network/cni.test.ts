// The CNI execution protocol and conflist chaining, specified against a small
// scripted plugin that records what it was given (so the test can read the
// environment and stdin each call saw), plus the real bridge plugin's VERSION.

import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNI_ERROR_CODES, CniError, CniExec, type CniNetworkConfigList } from './cni.js';

// One script, linked under several plugin names; what it does depends on the
// `type` in its config. It appends one JSON line per call to config.log.
const SCRIPT = `#!/usr/bin/env node
const fs = require('node:fs');
const config = JSON.parse(fs.readFileSync(0, 'utf8'));
const env = {};
for (const k of ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']) env[k] = process.env[k];
fs.appendFileSync(config.log, JSON.stringify({ env, config }) + '\\n');
if (config.type === 'fail') {
  process.stdout.write(JSON.stringify({ cniVersion: '1.0.0', code: 11, msg: 'busy', details: 'come back later' }));
  process.exit(1);
}
if (config.type === 'crash') {
  process.stderr.write('segfault, sort of');
  process.exit(2);
}
if (process.env.CNI_COMMAND !== 'ADD') process.exit(0);
const prev = config.prevResult ?? { cniVersion: config.cniVersion, interfaces: [], ips: [] };
prev.interfaces.push({ name: config.type });
if (config.type === 'first') prev.ips.push({ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 });
process.stdout.write(JSON.stringify(prev));
`;

describe('CniExec', () => {
  let dir: string;
  let log: string;
  let cni: CniExec;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cni-'));
    log = join(dir, 'calls.log');
    const script = join(dir, 'fake-plugin.cjs');
    await writeFile(script, SCRIPT);
    await chmod(script, 0o755);
    for (const name of ['first', 'second', 'third', 'fail', 'crash']) {
      await symlink(script, join(dir, name));
    }
    cni = new CniExec({ binDirs: [join(dir, 'empty'), dir] });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function calls(): Promise<
    { env: Record<string, string>; config: Record<string, unknown> }[]
  > {
    const text = await readFile(log, 'utf8').catch(() => '');
    await rm(log, { force: true });
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map(
        (l) => JSON.parse(l) as { env: Record<string, string>; config: Record<string, unknown> },
      );
  }

  function list(...types: string[]): CniNetworkConfigList {
    return {
      cniVersion: '1.0.0',
      name: 'testnet',
      plugins: types.map((type, i) => ({
        type,
        log,
        // Each plugin's own name/cniVersion must be overridden by the list's.
        name: `ignored-${i}`,
        cniVersion: '0.0.1',
        ...(type === 'second' ? { capabilities: { portMappings: true, bandwidth: true } } : {}),
      })),
    };
  }

  const att = {
    containerId: 'c1',
    netnsPath: '/run/netns/fake',
    ifName: 'eth0',
    capabilityArgs: {
      portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }],
      other: 1,
    },
  };

  it('runs ADD front to back, chaining each result into the next plugin as prevResult', async () => {
    const result = await cni.addList(list('first', 'second', 'third'), att);
    expect(result.interfaces?.map((i) => i.name)).toEqual(['first', 'second', 'third']);
    expect(result.ips).toEqual([{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }]);

    const seen = await calls();
    expect(seen.map((c) => c.config.type)).toEqual(['first', 'second', 'third']);
    for (const c of seen) {
      expect(c.env).toEqual({
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c1',
        CNI_NETNS: '/run/netns/fake',
        CNI_IFNAME: 'eth0',
        CNI_PATH: `${join(dir, 'empty')}:${dir}`,
      });
      expect(c.config.name).toBe('testnet');
      expect(c.config.cniVersion).toBe('1.0.0');
    }
    expect(seen[0]?.config.prevResult).toBeUndefined();
    expect(seen[1]?.config.prevResult).toMatchObject({ interfaces: [{ name: 'first' }] });
    expect(seen[2]?.config.prevResult).toMatchObject({
      interfaces: [{ name: 'first' }, { name: 'second' }],
    });
    // Only declared capabilities reach a plugin, and only as runtimeConfig.
    expect(seen[0]?.config.runtimeConfig).toBeUndefined();
    expect(seen[1]?.config.runtimeConfig).toEqual({
      portMappings: att.capabilityArgs.portMappings,
    });
  });

  it('runs DEL back to front, each plugin given the ADD result; CNI_NETNS may be absent', async () => {
    const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'x' }] };
    await cni.delList(
      list('first', 'second', 'third'),
      { containerId: 'c1', ifName: 'eth0' },
      prev,
    );
    const seen = await calls();
    expect(seen.map((c) => c.config.type)).toEqual(['third', 'second', 'first']);
    for (const c of seen) {
      expect(c.env.CNI_COMMAND).toBe('DEL');
      expect(c.env.CNI_NETNS).toBeUndefined();
      expect(c.config.prevResult).toEqual(prev);
    }
  });

  it('runs CHECK front to back with the ADD result, and not at all when disableCheck is set', async () => {
    const prev = { cniVersion: '1.0.0' };
    await cni.checkList(list('first', 'second'), att, prev);
    expect((await calls()).map((c) => [c.env.CNI_COMMAND, c.config.type])).toEqual([
      ['CHECK', 'first'],
      ['CHECK', 'second'],
    ]);
    await cni.checkList({ ...list('first'), disableCheck: true }, att, prev);
    expect(await calls()).toEqual([]);
  });

  it("turns a plugin's error into a CniError with its code, msg and details, and stops the list", async () => {
    const err = await cni.addList(list('first', 'fail', 'third'), att).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    const cniErr = err as CniError;
    expect(cniErr.code).toBe(CNI_ERROR_CODES.tryAgainLater);
    expect(cniErr.msg).toBe('busy');
    expect(cniErr.details).toBe('come back later');
    expect(cniErr.plugin).toBe('fail');
    expect(cniErr.command).toBe('ADD');
    expect(cniErr.retryable).toBe(true);
    expect((await calls()).map((c) => c.config.type)).toEqual(['first', 'fail']);

    const delErr = await cni.delList(list('first', 'fail', 'third'), att).catch((e: unknown) => e);
    expect(delErr).toMatchObject({ code: 11, command: 'DEL' });
    expect((await calls()).map((c) => c.config.type)).toEqual(['third', 'fail']);
  });

  it('reports a plugin that fails without speaking CNI, or is missing, with code -1', async () => {
    const crash = await cni.addList(list('crash'), att).catch((e: unknown) => e);
    expect(crash).toMatchObject({
      name: 'CniError',
      code: CNI_ERROR_CODES.noAnswer,
      plugin: 'crash',
    });
    expect((crash as CniError).details).toContain('segfault, sort of');
    expect((crash as CniError).retryable).toBe(false);
    await calls();

    const missing = await cni.addList(list('nope'), att).catch((e: unknown) => e);
    expect(missing).toMatchObject({
      name: 'CniError',
      code: CNI_ERROR_CODES.noAnswer,
      plugin: 'nope',
    });
    expect(String((missing as Error).message)).toContain('not found');

    const escape = await cni.addList(list('../first'), att).catch((e: unknown) => e);
    expect(escape).toMatchObject({ code: CNI_ERROR_CODES.invalidNetworkConfig });
  });

  it.skipIf(!existsSync('/usr/lib/cni/bridge'))('asks a real plugin for its versions', async () => {
    const real = new CniExec({ binDirs: ['/usr/lib/cni'] });
    const v = await real.version('bridge');
    expect(v.supportedVersions).toContain('1.0.0');
  });
});
