// One masquerade rule set for all of a node's pods, in place of the bridge
// plugin's `ipMasq`, which makes a chain and a POSTROUTING jump per pod: about
// nine `iptables` processes on every ADD and five on every DEL, each loading
// the whole ruleset, and on a busy node the largest share of a pod's start.
// The node-wide version says the same thing once, by the pod CIDR:
//
//   nat POSTROUTING -s <pod CIDR> → CNI-MASQ-<hash>
//     -d <pod CIDR>        → ACCEPT      (pod to pod on this bridge: no NAT)
//     ! -d 224.0.0.0/4     → MASQUERADE  (leaving the node's pod network)
//
// which is what the bridge plugin puts in each pod's chain, for `-s <pod IP>`.
// It is made once per PodNetwork (agent start), idempotently: an
// `iptables-restore --noflush` that declares (so flushes) and fills the chain,
// and a jump appended only when `iptables -C` does not find it. Like the
// cluster network's rules it stays when the agent stops; the chain is named
// like the CNI plugins' own (no "SHOAL-" in it: that prefix is the service
// proxy's, which removes every such chain on clean-up).

import { execIn } from './host-exec.js';
import { createHash } from 'node:crypto';

export interface PodMasqueradeOptions {
  /** The CNI network name, part of what the chain name hashes. */
  networkName: string;
  podCidr: string;
  /** Run iptables in this network namespace (via nsenter); unset: the caller's own. */
  hostNetnsPath?: string;
}

/** `CNI-MASQ-<16 hex>`: 25 characters, under iptables' 28. */
export function masqueradeChainName(networkName: string, podCidr: string): string {
  const hash = createHash('sha256').update(`${networkName} ${podCidr}`).digest('hex').slice(0, 16);
  return `CNI-MASQ-${hash}`;
}

export class PodMasquerade {
  readonly chain: string;
  private ready: Promise<void> | undefined;

  constructor(private readonly opts: PodMasqueradeOptions) {
    this.chain = masqueradeChainName(opts.networkName, opts.podCidr);
  }

  /** Resolves once the rules are in place; the first call makes them, a failed one is retried. */
  ensure(): Promise<void> {
    this.ready ??= this.apply().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async apply(): Promise<void> {
    const cidr = this.opts.podCidr;
    const comment = `shoal pods of ${this.opts.networkName}`;
    const jump = ['-s', cidr, '-m', 'comment', '--comment', comment, '-j', this.chain];
    await this.exec(
      'iptables-restore',
      ['--noflush', '-w', '5'],
      [
        '*nat',
        `:${this.chain} - [0:0]`,
        `-A ${this.chain} -d ${cidr} -j ACCEPT`,
        `-A ${this.chain} ! -d 224.0.0.0/4 -j MASQUERADE`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    const present = await this.exec('iptables', [
      '-w',
      '5',
      '-t',
      'nat',
      '-C',
      'POSTROUTING',
      ...jump,
    ]).then(
      () => true,
      () => false,
    );
    if (!present)
      await this.exec('iptables', ['-w', '5', '-t', 'nat', '-A', 'POSTROUTING', ...jump]);
  }

  private async exec(cmd: string, args: string[], stdin?: string): Promise<void> {
    await execIn(this.opts.hostNetnsPath, cmd, args, stdin);
  }
}
