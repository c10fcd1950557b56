// Programs the node's Service rules (service-rules.ts) into the kernel of the
// network namespace the agent runs in (its host): one `iptables-restore
// --noflush` per change, which swaps Shoal's chains atomically per table and
// touches nobody else's. The jumps from the built-in chains are checked and
// inserted once per start. On start the chains already there are read back
// with iptables-save, so a restarted agent deletes what is stale and
// rebuilds exactly the same rules (chain names are hashes of what they
// serve). remove() takes everything out again.

import type { Logger } from 'pino';
import { execIn } from './host-exec.js';
import { renderRemoval, renderRules, shoalChainsIn, type RulesInput } from './service-rules.js';

/** Jumps from built-in chains into Shoal's, per table, in the order they are made. */
const JUMPS: { table: 'nat' | 'filter'; chain: string; rule: string[]; insert?: boolean }[] = [
  { table: 'nat', chain: 'PREROUTING', rule: ['-j', 'SHOAL-SERVICES'] },
  { table: 'nat', chain: 'OUTPUT', rule: ['-j', 'SHOAL-SERVICES'] },
  // First, ahead of the CNI bridge plugin's per-pod masquerade rules.
  { table: 'nat', chain: 'POSTROUTING', rule: ['-j', 'SHOAL-POSTROUTING'], insert: true },
  {
    table: 'filter',
    chain: 'FORWARD',
    rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-j', 'SHOAL-SERVICES'],
    insert: true,
  },
  {
    table: 'filter',
    chain: 'OUTPUT',
    rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-j', 'SHOAL-SERVICES'],
    insert: true,
  },
  { table: 'filter', chain: 'FORWARD', rule: ['-j', 'SHOAL-FORWARD'] },
];

export interface ServiceProxyOptions {
  /** Run the commands in this network namespace (tests); unset: the agent's own. */
  netnsPath?: string;
  logger?: Logger;
}

export class ServiceProxy {
  private known: Set<string> | undefined;
  private lastText = '';
  private jumpsMade = false;
  private queue: Promise<void> = Promise.resolve();
  private pending: Omit<RulesInput, 'existingChains'> | undefined;

  constructor(private readonly opts: ServiceProxyOptions = {}) {}

  /**
   * Makes the kernel's Shoal chains match `input`. Calls while one runs are
   * coalesced: only the newest input is applied next.
   */
  sync(input: Omit<RulesInput, 'existingChains'>): Promise<void> {
    const first = this.pending === undefined;
    this.pending = input;
    if (!first) return this.queue;
    this.queue = this.queue
      .then(async () => {
        const next = this.pending!;
        this.pending = undefined;
        await this.apply(next);
      })
      .catch((err: unknown) => {
        this.lastText = '';
        this.opts.logger?.error({ err }, 'programming service rules failed');
      });
    return this.queue;
  }

  /** Deletes the jumps and every Shoal chain (agent shutdown with --cleanup, tests). */
  async remove(): Promise<void> {
    await this.queue;
    for (const j of JUMPS) {
      while (await this.iptables(j.table, ['-C', j.chain, ...j.rule]).then(ok, no)) {
        await this.iptables(j.table, ['-D', j.chain, ...j.rule]);
      }
    }
    const chains = shoalChainsIn(await this.save());
    await this.restore(renderRemoval(chains));
    this.known = undefined;
    this.lastText = '';
    this.jumpsMade = false;
  }

  private async apply(input: Omit<RulesInput, 'existingChains'>): Promise<void> {
    if (!this.known) this.known = new Set(shoalChainsIn(await this.save()).nat);
    const rendered = renderRules({ ...input, existingChains: this.known });
    if (rendered.text === this.lastText && this.jumpsMade) return;
    const started = Date.now();
    await this.restore(rendered.text);
    this.known = rendered.chains;
    this.lastText = rendered.text;
    if (!this.jumpsMade) {
      await this.ensureJumps();
      this.jumpsMade = true;
    }
    this.opts.logger?.debug(
      { services: input.services.length, ms: Date.now() - started },
      'service rules programmed',
    );
  }

  private async ensureJumps(): Promise<void> {
    for (const j of JUMPS) {
      if (await this.iptables(j.table, ['-C', j.chain, ...j.rule]).then(ok, no)) continue;
      await this.iptables(j.table, [
        j.insert ? '-I' : '-A',
        j.chain,
        ...(j.insert ? ['1'] : []),
        ...j.rule,
      ]);
    }
  }

  private save(): Promise<string> {
    return this.exec('iptables-save', []);
  }

  private async restore(text: string): Promise<void> {
    await this.exec('iptables-restore', ['--noflush', '-w', '5'], text);
  }

  private async iptables(table: string, args: string[]): Promise<string> {
    return this.exec('iptables', ['-w', '5', '-t', table, ...args]);
  }

  private exec(cmd: string, args: string[], stdin?: string): Promise<string> {
    return execIn(this.opts.netnsPath, cmd, args, stdin);
  }
}

const ok = (): boolean => true;
const no = (): boolean => false;
