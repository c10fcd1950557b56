// Where the kube commands read and write. Injected so tests run commands
// in-process and capture what a user would see; the default is the process.

export interface KubeIO {
  out(text: string): void;
  err(text: string): void;
  /** The whole of standard input, for `-f -`. */
  readStdin(): Promise<string>;
  /** Environment (KUBECONFIG, HOME): injectable so tests need not touch process.env. */
  env: Record<string, string | undefined>;
  /** Whether stdout is a terminal: progress lines are rewritten in place only then. */
  isTTY: boolean;
  /** Ends long-running commands (get -w, logs -f) early; tests use it, users press Ctrl-C. */
  signal?: AbortSignal;
}

export function processIO(): KubeIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  };
}
