// Real `shoal agent` processes on lab hosts, started the way an operator
// would (`nsenter --net=<host netns> shoal agent …`), plus the clean-up that
// leaves no container, mount or file behind even when a test fails.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabHost } from './hosts.js';
import { SHOAL_CLI as SHOAL } from './paths.js';
import { agentPaths } from '../../nodeagent/paths.js';

const run = promisify(execFile);
export interface TestAgent {
  host: LabHost;
  nodeName: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything it logged, for failure messages. */
  output(): string;
  /** SIGKILL, as a crash would. */
  kill9(): Promise<void>;
  /** Starts the agent again on the same data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface AgentArgs {
  server: string;
  token: string;
  insecureRegistries?: string[];
  extra?: string[];
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

export async function startAgentOn(
  host: LabHost,
  args: AgentArgs,
  baseDir?: string,
): Promise<TestAgent> {
  const dataDir = baseDir ?? (await mkdtemp(join(tmpdir(), `shoal-agent-${host.name}-`)));
  const nodeName = host.name;
  let out = '';
  const launch = (): ChildProcess => {
    const child = spawn(
      'nsenter',
      [
        `--net=${host.netnsPath}`,
        process.execPath,
        // Benches profile the agent with the rest (written when it exits on SIGTERM).
        ...(process.env.SHOAL_BENCH_PROFILE
          ? ['--cpu-prof', '--cpu-prof-dir', process.env.SHOAL_BENCH_PROFILE]
          : []),
        SHOAL,
        'agent',
        '--server',
        args.server,
        '--token',
        args.token,
        '--data-dir',
        dataDir,
        '--node-name',
        nodeName,
        '--node-ip',
        host.ip,
        ...(args.insecureRegistries?.length
          ? ['--insecure-registry', ...args.insecureRegistries]
          : []),
        ...(args.extra ?? []),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: process.env.SHOAL_TEST_LOG ?? 'info' },
      },
    );
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return child;
  };
  const agent: TestAgent = {
    host,
    nodeName,
    dataDir,
    process: launch(),
    output: () => out,
    kill9: async () => {
      agent.process.kill('SIGKILL');
      await exited(agent.process);
    },
    restart: async () => {
      agent.process = launch();
    },
    stop: async () => {
      agent.process.kill('SIGTERM');
      await exited(agent.process);
    },
  };
  return agent;
}

/**
 * Removes whatever an agent left: its runc containers (and their monitors),
 * mounts below its data directory, pod network namespaces, the directory.
 */
export async function scrubAgent(agent: TestAgent): Promise<void> {
  if (agent.process.exitCode === null && agent.process.signalCode === null) await agent.kill9();
  const root = agentPaths(agent.dataDir).runcRoot;
  const list = await run('runc', ['--root', root, 'list', '--format', 'json']).then(
    (r) => (JSON.parse(r.stdout || '[]') as { id: string }[] | null) ?? [],
    () => [],
  );
  for (const c of list) {
    await run('runc', ['--root', root, 'kill', '--all', c.id, 'KILL']).catch(() => undefined);
    await run('runc', ['--root', root, 'delete', '--force', c.id]).catch(() => undefined);
  }
  for (const m of (await mountsUnder(agent.dataDir)).reverse()) {
    await run('umount', ['-l', m]).catch(() => undefined);
  }
  await rm(agent.dataDir, { recursive: true, force: true });
  await removeCgroupTree(`shoal-${agent.nodeName}`);
}

/** rmdir of the agent's cgroup parent in every controller hierarchy, deepest first. */
async function removeCgroupTree(name: string): Promise<void> {
  const controllers = await readdir('/sys/fs/cgroup').catch(() => [] as string[]);
  for (const c of controllers) {
    const top = join('/sys/fs/cgroup', c, name);
    const dirs: string[] = [];
    const walk = async (d: string): Promise<void> => {
      const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) await walk(join(d, e.name));
      dirs.push(d);
    };
    await walk(top);
    for (const d of dirs) await rmdir(d).catch(() => undefined);
  }
}

export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

export async function runcContainers(agent: TestAgent): Promise<string[]> {
  const r = await run('runc', [
    '--root',
    agentPaths(agent.dataDir).runcRoot,
    'list',
    '--format',
    'json',
  ]).catch(() => ({ stdout: '[]' }));
  return ((JSON.parse(r.stdout || '[]') as { id: string }[] | null) ?? []).map((c) => c.id);
}
