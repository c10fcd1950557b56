// A real registry for tests: Debian's docker-registry (distribution 2.8) on a
// free loopback port, storing in a temp dir, optionally behind htpasswd basic
// auth. pushBusybox() builds the busybox OCI layout with deploy/busybox-image.sh
// (cached under .tmp/) and pushes it with skopeo. stop() kills the process it started and removes the
// temp dir.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';
import { freePort } from '../../controlplane/etcd/ports.js';

const run = promisify(execFile);

const REPO_ROOT = repoRoot();
/** Where the busybox OCI layout is built once and reused by every test run. */
export const BUSYBOX_LAYOUT_DIR = join(REPO_ROOT, '.tmp', 'busybox-oci');

export interface RegistryCredentials {
  user: string;
  password: string;
}

export interface TestRegistry {
  /** "<address>:<port>" (127.0.0.1 unless asked otherwise), as an image reference names it. */
  host: string;
  /** The registry's filesystem storage root (docker/registry/v2/... lives below it). */
  storageDir: string;
  /** Builds (cached) and pushes the busybox image; resolves to its manifest digest. */
  pushBusybox(tag?: string, name?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startRegistry(
  opts: { htpasswd?: RegistryCredentials; address?: string } = {},
): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-registry-'));
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child) await killAndWait(child);
    child = undefined;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    // Test hosts in network namespaces reach it on their bridge's address.
    const host = `${opts.address ?? '127.0.0.1'}:${port}`;
    const storageDir = join(dir, 'data');
    const configPath = join(dir, 'config.yml');
    let auth = '';
    if (opts.htpasswd) {
      const htpasswdPath = join(dir, 'htpasswd');
      await writeFile(htpasswdPath, await htpasswdLine(opts.htpasswd), { mode: 0o600 });
      auth = `auth:\n  htpasswd:\n    realm: shoal-test\n    path: ${htpasswdPath}\n`;
    }
    await writeFile(
      configPath,
      `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
http:
  addr: ${host}
${auth}`,
    );
    const proc = spawn('docker-registry', ['serve', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      // Keep only the tail: it is for the error message if the registry dies.
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    await waitReady(host, proc, () => stderr);

    return {
      host,
      storageDir,
      stop,
      pushBusybox: async (tag = 'latest', name = 'busybox') => {
        await run(join(REPO_ROOT, 'deploy', 'busybox-image.sh'), [BUSYBOX_LAYOUT_DIR]);
        const digestFile = join(dir, `digest-${randomBytes(4).toString('hex')}`);
        const args = ['copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile];
        if (opts.htpasswd)
          args.push('--dest-creds', `${opts.htpasswd.user}:${opts.htpasswd.password}`);
        args.push(`oci:${BUSYBOX_LAYOUT_DIR}:latest`, `docker://${host}/${name}:${tag}`);
        await run('skopeo', args);
        return (await readFile(digestFile, 'utf8')).trim();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One htpasswd line with a bcrypt hash, the only scheme docker-registry 2.8
 * accepts. apache2-utils' htpasswd is not on the machine and Node has no
 * bcrypt, but libxcrypt does: Perl's crypt() reaches it. The password goes
 * through the environment, not the command line.
 */
async function htpasswdLine(creds: RegistryCredentials): Promise<string> {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(22);
  // The 22nd salt character carries only 2 bits; libxcrypt wants one of these.
  const salt =
    Array.from(bytes.subarray(0, 21), (b) => alphabet[b % 64]).join('') +
    '.Oeu'[(bytes[21] ?? 0) % 4];
  const { stdout } = await run('perl', ['-e', 'print crypt($ENV{PW}, $ENV{SALT})'], {
    env: { PW: creds.password, SALT: `$2y$05$${salt}` },
  });
  if (!stdout.startsWith('$2y$'))
    throw new Error(`perl crypt() did not produce a bcrypt hash: ${stdout}`);
  return `${creds.user}:${stdout}\n`;
}

async function waitReady(host: string, proc: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`docker-registry exited (${proc.exitCode ?? proc.signalCode}): ${stderr()}`);
    }
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      // 401 is ready too: the registry answers, it just wants credentials.
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry on ${host} did not answer /v2/ within 15s: ${stderr()}`);
}

async function killAndWait(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  process.kill(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
