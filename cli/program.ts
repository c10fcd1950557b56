// The one `shoal` executable, k3s-style: every part of the system is a
// subcommand. Flags are validated before anything starts; usage errors exit 2.

import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { startControlplane, printJoinToken, parseListen } from '../controlplane/cmd/controlplane.js';
import { GIT_VERSION, SHOAL_VERSION } from '../controlplane/version.js';

const DEFAULT_DATA_DIR = '/var/lib/shoal/controlplane';

function endpointsList(value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of list) {
    if (!/^https?:\/\/[^/]+$/.test(e)) throw new InvalidArgumentError(`"${e}" is not an etcd URL like http://127.0.0.1:2379`);
  }
  return list;
}

function listenAddress(value: string): string {
  try {
    parseListen(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--listen: /, ''));
  }
  return value;
}

export function buildProgram(): Command {
  const program = new Command('shoal')
    .description('Shoal: containers on many hosts, behind the Kubernetes API')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('version')
    .description('print the Shoal version and the Kubernetes API version it serves')
    .action(() => {
      console.log(`shoal ${SHOAL_VERSION} (Kubernetes API ${GIT_VERSION})`);
    });

  const cp = program
    .command('controlplane')
    .description('run the control plane: API server over etcd')
    .option('--data-dir <dir>', 'where the PKI, tokens, kubeconfig and embedded etcd live', DEFAULT_DATA_DIR)
    .option('--listen <host:port>', 'API server address', listenAddress, '127.0.0.1:6443')
    .option('--advertise-address <host>', 'address written into the admin kubeconfig')
    .option('--etcd-endpoints <urls>', 'comma-separated etcd URLs; without it a local etcd is started', endpointsList)
    .option('--agent-listen <host:port>', 'agent gateway (gRPC) address', listenAddress, '127.0.0.1:6444')
    .option('--kubeconfig-out <file>', 'where to write the admin kubeconfig (default <data-dir>/admin.kubeconfig)')
    .addHelpText('after', '\nExample:\n  shoal controlplane --data-dir /var/lib/shoal --listen 0.0.0.0:6443')
    .action(async (o: { dataDir: string; listen: string; advertiseAddress?: string; etcdEndpoints?: string[]; kubeconfigOut?: string; agentListen: string }) => {
      const logger = pino({ name: 'shoal-controlplane' });
      const running = await startControlplane({
        dataDir: o.dataDir,
        listen: o.listen,
        agentListen: o.agentListen,
        logger,
        ...(o.advertiseAddress ? { advertiseAddress: o.advertiseAddress } : {}),
        ...(o.etcdEndpoints ? { etcdEndpoints: o.etcdEndpoints } : {}),
        ...(o.kubeconfigOut ? { kubeconfigPath: o.kubeconfigOut } : {}),
      });
      console.error(`shoal: control plane at ${running.url}; kubeconfig: ${running.kubeconfigPath}`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          logger.info('shutting down');
          running.stop().then(resolve, (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            resolve();
          });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    });
  cp.command('token')
    .description('print the join token agents use')
    .option('--data-dir <dir>', 'the control plane data directory', DEFAULT_DATA_DIR)
    .action(async (o: { dataDir: string }) => {
      console.log(await printJoinToken(o.dataDir));
    });
  return program;
}

