import { describe, expect, it } from 'vitest';
import { SpecError } from './errors.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH,
  MASKED_PATHS,
  applyCapabilityChanges,
  buildRuntimeSpec,
  expandVars,
  mergeEnv,
  processArgs,
  resolveUser,
} from './spec.js';
import type { ContainerRunInput, ContainerSpec, ImageConfig } from './types.js';

function input(container: Partial<ContainerSpec> = {}, image: ImageConfig = {}): ContainerRunInput {
  return {
    container: { name: 'app', image: 'busybox', ...container },
    image,
    podUid: 'u-1',
    hostname: 'pod-a',
    cgroupParent: '/shoal-node1',
  };
}

describe('processArgs (Kubernetes command/args against Entrypoint/Cmd)', () => {
  const image: ImageConfig = { Entrypoint: ['/entry'], Cmd: ['--cmd'] };
  it.each([
    {
      name: 'neither: Entrypoint + Cmd',
      command: undefined,
      args: undefined,
      want: ['/entry', '--cmd'],
    },
    { name: 'command only: Cmd ignored', command: ['/bin/x'], args: undefined, want: ['/bin/x'] },
    {
      name: 'args only: Entrypoint + args',
      command: undefined,
      args: ['a', 'b'],
      want: ['/entry', 'a', 'b'],
    },
    { name: 'both: command + args', command: ['/bin/x'], args: ['a'], want: ['/bin/x', 'a'] },
    { name: 'empty lists count as unset', command: [], args: [], want: ['/entry', '--cmd'] },
  ])('$name', ({ command, args, want }) => {
    expect(processArgs({ name: 'c', image: 'i', command, args }, image)).toEqual(want);
  });

  it.each([
    { name: 'image with Cmd only', image: { Cmd: ['sh'] }, want: ['sh'] },
    {
      name: 'image with Entrypoint only, args given',
      image: { Entrypoint: ['/e'] },
      args: ['x'],
      want: ['/e', 'x'],
    },
    {
      name: 'null Entrypoint and Cmd, command given',
      image: { Entrypoint: null, Cmd: null },
      command: ['c'],
      want: ['c'],
    },
  ])(
    '$name',
    ({
      image: img,
      args,
      command,
      want,
    }: {
      image: ImageConfig;
      args?: string[];
      command?: string[];
      want: string[];
    }) => {
      expect(processArgs({ name: 'c', image: 'i', command, args }, img)).toEqual(want);
    },
  );

  it('refuses a container with no command anywhere', () => {
    expect(() => processArgs({ name: 'c', image: 'i' }, {})).toThrow(SpecError);
  });

  it('expands $(VAR) from the container env', () => {
    const args = processArgs(
      {
        name: 'c',
        image: 'i',
        command: ['echo', '$(GREETING) $(MISSING) $$(GREETING)'],
        env: [{ name: 'GREETING', value: 'hi' }],
      },
      {},
    );
    expect(args).toEqual(['echo', 'hi $(MISSING) $(GREETING)']);
  });
});

describe('expandVars', () => {
  const vars = new Map([['A', '1']]);
  it.each([
    ['$(A)', '1'],
    ['x$(A)y', 'x1y'],
    ['$(B)', '$(B)'],
    ['$$', '$'],
    ['$$(A)', '$(A)'],
    ['$A', '$A'],
  ])('%s → %s', (text, want) => {
    expect(expandVars(text, vars)).toBe(want);
  });
});

describe('env', () => {
  it.each([
    { name: 'image only', image: ['A=1', 'B=2'], ctr: [], want: ['A=1', 'B=2'] },
    {
      name: 'container overrides in place',
      image: ['A=1', 'B=2'],
      ctr: [{ name: 'A', value: 'x' }],
      want: ['A=x', 'B=2'],
    },
    {
      name: 'new vars follow',
      image: ['A=1'],
      ctr: [{ name: 'C', value: '3' }],
      want: ['A=1', 'C=3'],
    },
    { name: 'values with =', image: ['A=a=b'], ctr: [], want: ['A=a=b'] },
    {
      name: 'last container entry wins',
      image: [],
      ctr: [
        { name: 'A', value: '1' },
        { name: 'A', value: '2' },
      ],
      want: ['A=2'],
    },
  ])('mergeEnv: $name', ({ image, ctr, want }) => {
    expect(mergeEnv(image, ctr)).toEqual(want);
  });

  it('adds PATH, HOSTNAME and HOME when missing', () => {
    const spec = buildRuntimeSpec(input({ command: ['sh'] }));
    expect(spec.process.env).toEqual([DEFAULT_PATH, 'HOSTNAME=pod-a', 'HOME=/']);
  });

  it('keeps the image PATH and the home of the passwd entry', () => {
    const spec = buildRuntimeSpec({
      ...input({ command: ['sh'], securityContext: { runAsUser: 1000 } }, { Env: ['PATH=/x'] }),
      userDb: { passwd: 'app:x:1000:1000::/home/app:/bin/sh\n' },
    });
    expect(spec.process.env).toEqual(['PATH=/x', 'HOSTNAME=pod-a', 'HOME=/home/app']);
  });
});

describe('user', () => {
  const userDb = {
    passwd: 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:34::/var/www:/bin/false\n',
    group: 'root:x:0:\nstaff:x:50:\n',
  };
  it.each([
    { name: 'default root', sc: {}, user: undefined, want: { uid: 0, gid: 0 } },
    { name: 'numeric image user, gid from passwd', sc: {}, user: '33', want: { uid: 33, gid: 34 } },
    { name: 'numeric user unknown to passwd', sc: {}, user: '1234', want: { uid: 1234, gid: 0 } },
    { name: 'uid:gid', sc: {}, user: '1:2', want: { uid: 1, gid: 2 } },
    { name: 'name', sc: {}, user: 'www', want: { uid: 33, gid: 34 } },
    { name: 'name:group', sc: {}, user: 'www:staff', want: { uid: 33, gid: 50 } },
    {
      name: 'runAsUser wins over image',
      sc: { runAsUser: 33 },
      user: '1:2',
      want: { uid: 33, gid: 34 },
    },
    {
      name: 'runAsUser + runAsGroup',
      sc: { runAsUser: 7, runAsGroup: 8 },
      user: 'www',
      want: { uid: 7, gid: 8 },
    },
    { name: 'runAsGroup alone', sc: { runAsGroup: 9 }, user: 'www', want: { uid: 33, gid: 9 } },
  ])('$name', ({ sc, user, want }) => {
    expect(resolveUser(sc, { User: user }, userDb)).toEqual(want);
  });

  it('refuses an unknown user name', () => {
    expect(() => resolveUser({}, { User: 'nobody' }, userDb)).toThrow(SpecError);
  });
});

describe('capabilities', () => {
  it.each([
    {
      name: 'defaults',
      caps: undefined,
      has: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'],
      hasNot: ['CAP_SYS_ADMIN'],
    },
    {
      name: 'add NET_ADMIN',
      caps: { add: ['NET_ADMIN'] },
      has: ['CAP_NET_ADMIN', 'CAP_CHOWN'],
      hasNot: [],
    },
    { name: 'drop CHOWN', caps: { drop: ['CHOWN'] }, has: ['CAP_KILL'], hasNot: ['CAP_CHOWN'] },
    {
      name: 'drop ALL add one',
      caps: { drop: ['ALL'], add: ['CAP_KILL'] },
      has: ['CAP_KILL'],
      hasNot: ['CAP_CHOWN'],
    },
  ])('$name', ({ caps, has, hasNot }) => {
    const out = applyCapabilityChanges(DEFAULT_CAPABILITIES, { capabilities: caps });
    for (const c of has) expect(out).toContain(c);
    for (const c of hasNot) expect(out).not.toContain(c);
  });

  it('drop ALL leaves none', () => {
    expect(
      applyCapabilityChanges(DEFAULT_CAPABILITIES, { capabilities: { drop: ['ALL'] } }),
    ).toEqual([]);
  });
});

describe('buildRuntimeSpec', () => {
  it('cgroup path and resources', () => {
    const spec = buildRuntimeSpec(
      input({
        command: ['sh'],
        resources: { limits: { cpu: 500, memory: 64 * 2 ** 20 }, requests: { cpu: 250 } },
      }),
    );
    expect(spec.linux.cgroupsPath).toBe('/shoal-node1/podu-1/app');
    expect(spec.linux.resources.cpu).toEqual({ shares: 256, quota: 50_000, period: 100_000 });
    expect(spec.linux.resources.memory).toEqual({ limit: 64 * 2 ** 20, swap: 64 * 2 ** 20 });
  });

  it.each([
    { name: 'no resources: minimum shares, no quota', res: undefined, want: { shares: 2 } },
    {
      name: 'request defaults to limit',
      res: { limits: { cpu: 1000 } },
      want: { shares: 1024, quota: 100_000, period: 100_000 },
    },
    { name: 'tiny request floors at 2', res: { requests: { cpu: 1 } }, want: { shares: 2 } },
    {
      name: 'tiny limit floors at 1 ms',
      res: { limits: { cpu: 1 } },
      want: { shares: 2, quota: 1000, period: 100_000 },
    },
  ])('cpu: $name', ({ res, want }) => {
    expect(
      buildRuntimeSpec(input({ command: ['sh'], resources: res })).linux.resources.cpu,
    ).toEqual(want);
  });

  it('defaults: no terminal, read-write root, masked paths, new namespaces, hostname', () => {
    const spec = buildRuntimeSpec(input({ command: ['sh'] }));
    expect(spec.process.terminal).toBe(false);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.capabilities.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(spec.process.cwd).toBe('/');
    expect(spec.root.readonly).toBe(false);
    expect(spec.linux.maskedPaths).toEqual([...MASKED_PATHS]);
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual([
      'ipc',
      'mount',
      'network',
      'pid',
      'uts',
    ]);
    expect(spec.hostname).toBe('pod-a');
    expect(spec.linux.resources.memory).toBeUndefined();
    expect(spec.mounts.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
    ]);
    expect(spec.mounts.find((m) => m.destination === '/sys')?.options).toContain('ro');
  });

  it('readOnlyRootFilesystem', () => {
    const spec = buildRuntimeSpec(
      input({ command: ['sh'], securityContext: { readOnlyRootFilesystem: true } }),
    );
    expect(spec.root.readonly).toBe(true);
  });

  it('workingDir: container over image over /', () => {
    expect(buildRuntimeSpec(input({ command: ['sh'] }, { WorkingDir: '/srv' })).process.cwd).toBe(
      '/srv',
    );
    expect(
      buildRuntimeSpec(input({ command: ['sh'], workingDir: '/w' }, { WorkingDir: '/srv' })).process
        .cwd,
    ).toBe('/w');
  });

  it('joins given namespaces and leaves the hostname to a joined UTS namespace', () => {
    const spec = buildRuntimeSpec({
      ...input({ command: ['sh'] }),
      namespaces: { network: '/var/run/netns/pod-a', uts: '/proc/42/ns/uts' },
    });
    expect(spec.linux.namespaces).toContainEqual({ type: 'network', path: '/var/run/netns/pod-a' });
    expect(spec.linux.namespaces).toContainEqual({ type: 'uts', path: '/proc/42/ns/uts' });
    expect(spec.linux.namespaces).toContainEqual({ type: 'ipc' });
    expect(spec.hostname).toBeUndefined();
  });

  it('bind mounts /etc files and volumes', () => {
    const spec = buildRuntimeSpec({
      ...input({ command: ['sh'] }),
      etcFiles: { hosts: '/p/hosts', resolvConf: '/p/resolv.conf', hostname: '/p/hostname' },
      mounts: [
        { source: '/v/data', destination: '/data' },
        { source: '/v/cfg', destination: '/cfg', readOnly: true },
      ],
    });
    const byDest = new Map(spec.mounts.map((m) => [m.destination, m]));
    expect(byDest.get('/etc/hosts')).toEqual({
      destination: '/etc/hosts',
      type: 'bind',
      source: '/p/hosts',
      options: ['rbind', 'rprivate'],
    });
    expect(byDest.get('/etc/resolv.conf')?.source).toBe('/p/resolv.conf');
    expect(byDest.get('/etc/hostname')?.source).toBe('/p/hostname');
    expect(byDest.get('/data')?.options).toEqual(['rbind', 'rprivate']);
    expect(byDest.get('/cfg')?.options).toEqual(['rbind', 'rprivate', 'ro']);
  });

  it('refuses a relative cgroup parent or mount path', () => {
    expect(() =>
      buildRuntimeSpec({ ...input({ command: ['sh'] }), cgroupParent: 'shoal' }),
    ).toThrow(SpecError);
    expect(() =>
      buildRuntimeSpec({
        ...input({ command: ['sh'] }),
        mounts: [{ source: '/a', destination: 'rel' }],
      }),
    ).toThrow(SpecError);
  });

  it('privileged: all capabilities, nothing masked, writable /sys, all devices', () => {
    const spec = buildRuntimeSpec(
      input({ command: ['sh'], securityContext: { privileged: true } }),
    );
    expect(spec.process.capabilities.bounding).toContain('CAP_SYS_ADMIN');
    expect(spec.process.noNewPrivileges).toBe(false);
    expect(spec.linux.maskedPaths).toEqual([]);
    expect(spec.linux.readonlyPaths).toEqual([]);
    expect(spec.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(spec.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
  });

  it('annotates the pod uid and container name', () => {
    const spec = buildRuntimeSpec({ ...input({ command: ['sh'] }), annotations: { extra: 'x' } });
    expect(spec.annotations).toEqual({
      'io.kubernetes.pod.uid': 'u-1',
      'io.kubernetes.container.name': 'app',
      extra: 'x',
    });
  });
});
