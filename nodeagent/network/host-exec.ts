// Runs a networking command (ip, iptables, iptables-restore, sh) in the
// host's network namespace: the agent's own, or the one at `netnsPath` (via
// `nsenter --net=`, which leaves /sys and the cgroup mounts alone, unlike
// `ip netns exec`) when the agent's host is a lab namespace. Resolves to
// stdout; a failure names the command and says what it wrote to stderr.

import { spawn } from 'node:child_process';

export function execIn(
  netnsPath: string | undefined,
  cmd: string,
  args: string[],
  stdin?: string,
): Promise<string> {
  const [file, argv] = netnsPath
    ? ['nsenter', [`--net=${netnsPath}`, '--', cmd, ...args]]
    : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`));
    });
    if (child.stdin) {
      // A command that exits before reading all of it must not crash the agent (EPIPE).
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
  });
}
