// Spawner: runs the agent's helper processes (CNI plugins, runc) and
// the container monitors through one small long-lived Perl process
// instead of forking the agent for each, and makes the mount, umount and
// new-network-namespace system calls itself.
//
// Why: Node's child_process.spawn forks the whole agent (about 160 MB
// resident) and blocks the event loop until the child has exec'd: measured
// at 3-8 ms a spawn on the 2-core lab machine, more when the CPUs are busy,
// which is exactly when ten pods start at once. Forking a 5 MB Perl process
// costs a fraction of that, and the agent only writes a line to a pipe.
//
// Perl, as for the monitor (runtime/monitor.ts): perl-base is Essential on
// Debian. The protocol is one line per message, every variable field hex
// encoded (pack 'H*' needs no module):
//
//   agent → spawner  S <id> <flags> <file> <argv> <env> <stdin>
//                    (argv and env: hex of NUL-joined strings; env KEY=VALUE)
//                    K <id> <signal number>
//   spawner → agent  R <id> <wait status> <stdout> <stderr> <fd3> <pid>
//
// flags: 'e' the environment given replaces the spawner's (the agent's, as
// inherited when it started), else it is added to it; 'g' own process group; '3' a pipe on the child's fd 3, read like
// stdout; 'n' no wait: the answer comes when the child's pipes close, with
// status -1, and the child is reaped whenever it exits (the container
// monitor, which closes fd 3 after its one line and lives on); 'q' stdout
// and stderr go to /dev/null. A child that cannot be exec'd exits 127 with
// the reason on its stderr.
//
// flag 'b': no program is exec'd; <file> names one of the spawner's
// built-ins, which make the system calls mount(8), umount(8) and
// `unshare --net … ip link set lo up` would make, without the two or three
// exec'd processes those cost per pod start (see `builtin` below). `mount`
// and `umount` run in the spawner itself (a mount point is shared by the
// whole mount namespace); `netns` runs in a forked child, because unshare
// moves its caller into the new namespace; `monitor` is the container
// monitor (runtime/monitor.ts) run by a forked child of the spawner, which
// has Perl started and Time::HiRes loaded already, instead of a new perl.
// A built-in's status pipe (flag '3') is the handle $main::STATUS, not fd 3.
//
// The spawner exits when its stdin closes (the agent stopped or died);
// children it started run on, as they would have from the agent. If it dies,
// calls in flight fail and the next call starts a new one.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { arch } from 'node:process';
import { MONITOR_SCRIPT } from './runtime/monitor.js';

export interface SpawnRequest {
  file: string;
  args: string[];
  /** The child's whole environment (default: the agent's, as when the spawner started). */
  env?: NodeJS.ProcessEnv;
  /**
   * Added to the agent's environment, without sending all of it: each request
   * is a line on a pipe, and the environment is most of one.
   */
  extraEnv?: Record<string, string>;
  /** Written to the child's stdin, which is then closed; no stdin: /dev/null. */
  stdin?: string;
  /** A pipe on fd 3, returned as `fd3`. */
  fd3?: boolean;
  /** Answer once the child's pipes close, without waiting for it to exit. */
  noWait?: boolean;
  /** Its own process group, so signals aimed at the agent's do not reach it. */
  ownGroup?: boolean;
  /** stdout and stderr to /dev/null. */
  quiet?: boolean;
  /** SIGKILL after this long (then `timedOut`). */
  timeoutMs?: number;
}

export interface SpawnResult {
  /** null for noWait, or when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  fd3: string;
  timedOut: boolean;
  /** The child's pid (0 if it could not be started). */
  pid: number;
}

/** System call numbers the built-ins need: mount, umount2, unshare. */
const SYSCALLS: Partial<Record<NodeJS.Architecture, [number, number, number]>> = {
  x64: [165, 166, 272],
  arm64: [40, 39, 97],
  riscv64: [40, 39, 97],
};

export type Builtin =
  /** args: source, target, fstype, flags (decimal), data */
  | 'mount'
  /** args: target, flags (decimal; 2 = MNT_DETACH) */
  | 'umount'
  /** args: an existing empty file; it becomes a new network namespace with lo up */
  | 'netns'
  /** args: the monitor's (runtime/monitor.ts) */
  | 'monitor';

export const SPAWNER_SCRIPT =
  String.raw`
use strict;
$0 = 'shoal-spawner';
my ($SYS_mount, $SYS_umount2, $SYS_unshare) = @ARGV;
# Loaded once here, so a forked monitor finds it loaded.
eval { require Time::HiRes; 1 };
my $MONITOR = <<'SHOAL_MONITOR_END';
` +
  MONITOR_SCRIPT +
  String.raw`
SHOAL_MONITOR_END
$SIG{PIPE} = 'IGNORE';
$| = 1;
my (%jobs, %rd, %wr, %bypid);
my $in = '';
my $eof = 0;
# A child that exits without output must wake the select below at once: the
# SIGCHLD handler writes to a pipe in its read set (at most one byte waits
# there, so the write never blocks).
pipe(my $sig_r, my $sig_w) or die "shoal-spawner: pipe: $!\n";
my $sig_pending = 0;
$SIG{CHLD} = sub { if (!$sig_pending) { $sig_pending = 1; syswrite($sig_w, 'x'); } };
sub hexs { return unpack('H*', $_[0] // ''); }
sub unhex { return pack('H*', $_[0] // ''); }
sub done {
  my ($id) = @_;
  my $j = $jobs{$id} or return;
  return if $j->{open} > 0 || (!$j->{nowait} && !defined $j->{status});
  print 'R ', $id, ' ', ($j->{nowait} ? -1 : $j->{status}), ' ', hexs($j->{out}), ' ', hexs($j->{err}), ' ', hexs($j->{fd3}), ' ', $j->{pid}, "\n";
  delete $jobs{$id};
}
# Returns '' or what failed. Arguments come from split(), so they are
# strings, which syscall() passes as pointers; '+ 0' makes the numbers ints.
sub builtin {
  my ($name, @a) = @_;
  if ($name eq 'mount') {
    return syscall($SYS_mount, $a[0], $a[1], $a[2], $a[3] + 0, $a[4]) == 0 ? '' : "mount $a[1]: $!";
  }
  if ($name eq 'umount') {
    return syscall($SYS_umount2, $a[0], $a[1] + 0) == 0 ? '' : "umount $a[0]: $!";
  }
  if ($name eq 'netns') {
    # CLONE_NEWNET; then the namespace outlives this child as a bind mount
    # (MS_BIND) of its nsfs file on the path, as 'unshare --net=path' leaves it.
    syscall($SYS_unshare, 0x40000000) == 0 or return "unshare: $!";
    my $self = '/proc/self/ns/net'; # syscall() may write to its string arguments: no constants
    syscall($SYS_mount, $self, $a[0], 0, 4096, 0) == 0 or return "bind mount $a[0]: $!";
    # lo up: SIOCGIFFLAGS, set IFF_UP, SIOCSIFFLAGS on a struct ifreq (40 bytes).
    socket(my $s, 2, 2, 0) or return "socket: $!";
    my $ifr = pack('a16 s x22', 'lo', 0);
    ioctl($s, 0x8913, $ifr) or return "SIOCGIFFLAGS lo: $!";
    my (undef, $fl) = unpack('a16 s', $ifr);
    $ifr = pack('a16 s x22', 'lo', $fl | 1);
    ioctl($s, 0x8914, $ifr) or return "SIOCSIFFLAGS lo: $!";
    return '';
  }
  if ($name eq 'monitor') {
    @ARGV = @a;
    eval $MONITOR;
    return "shoal-monitor: $@";
  }
  return "no built-in $name";
}
sub start {
  my ($id, $flags, $file, $argv, $env, $stdin) = @_;
  my @argv = split(/\0/, unhex($argv), -1);
  my $builtin = index($flags, 'b') >= 0;
  if ($builtin && unhex($file) ne 'netns' && unhex($file) ne 'monitor') {
    my $e = builtin(@argv);
    print 'R ', $id, ' ', ($e eq '' ? 0 : 1 << 8), ' ', '', ' ', hexs($e eq '' ? '' : "$e\n"), ' ', '', ' ', $$, "\n";
    return;
  }
  my @env = split(/\0/, unhex($env), -1);
  my $data = unhex($stdin);
  my $want_in = length($stdin) > 0;
  my $quiet = index($flags, 'q') >= 0;
  my $fd3 = index($flags, '3') >= 0;
  my (%r, %w);
  for my $s ($quiet ? () : ('out', 'err'), $fd3 ? ('fd3') : ()) {
    # Fresh lexicals each time: pipe() into hash elements shares one glob.
    pipe(my $pr, my $pw) or return fail($id, "pipe: $!");
    ($r{$s}, $w{$s}) = ($pr, $pw);
  }
  my ($in_r, $in_w);
  if ($want_in) { pipe($in_r, $in_w) or return fail($id, "pipe: $!"); }
  my $pid = fork();
  if (!defined $pid) { return fail($id, "fork: $!"); }
  if ($pid == 0) {
    my $keep;
    setpgrp(0, 0) if index($flags, 'g') >= 0;
    # Every other job's pipe too: PerlIO counts handles per descriptor, and
    # only closing the handle that owns it really frees a descriptor (fd 3).
    close($_) for values %r;
    close($_->[2]) for values %rd;
    close($_->[1]) for values %wr;
    close($in_w) if $want_in;
    close($sig_r);
    close($sig_w);
    $SIG{CHLD} = 'DEFAULT';
    if ($want_in) { open(STDIN, '<&', $in_r) or exit 127; } else { open(STDIN, '<', '/dev/null') or exit 127; }
    if ($quiet) { open(STDOUT, '>', '/dev/null') or exit 127; open(STDERR, '>', '/dev/null') or exit 127; }
    else { open(STDOUT, '>&', $w{out}) or exit 127; open(STDERR, '>&', $w{err}) or exit 127; }
    if ($fd3 && !$builtin) {
      # The pipe must end up as fd 3 and survive exec: free fd 3 (it may be
      # the pipe itself, or any other job's), then dup with $^F = 3, so the
      # new descriptor is not close-on-exec.
      my $src = $w{fd3};
      if (fileno($src) == 3) { open(my $tmp, '>&', $src) or exit 127; close($src); $src = $tmp; }
      else { my $t; close($t) if open($t, '<&=', 3) || open($t, '>&=', 3); }
      $^F = 3;
      open($keep, '>&', $src) or exit 127;
      exit 127 if fileno($keep) != 3;
    }
    $SIG{PIPE} = 'DEFAULT';
    %ENV = () if index($flags, 'e') >= 0;
    for my $kv (@env) { my $i = index($kv, '='); $ENV{substr($kv, 0, $i)} = substr($kv, $i + 1) if $i > 0; }
    if ($builtin) {
      # No exec closes the pipes' spare ends here: close them, or the agent
      # would wait for an EOF that never comes. The status pipe is handed over
      # as a handle; its one owner closing it is the end of the answer.
      our $STATUS = delete $w{fd3};
      close($_) for values %w;
      my $e = builtin(@argv);
      print STDERR "$e\n" if $e ne '';
      exit($e eq '' ? 0 : 1);
    }
    exec { unhex($file) } @argv;
    print STDERR "exec " . unhex($file) . ": $!\n";
    exit 127;
  }
  close($_) for values %w;
  my $j = { pid => $pid, open => 0, nowait => index($flags, 'n') >= 0, out => '', err => '', fd3 => '' };
  for my $s (keys %r) { $rd{fileno($r{$s})} = [$id, $s, $r{$s}]; $j->{open}++; }
  if ($want_in) { close($in_r); $wr{fileno($in_w)} = [$id, $in_w, $data]; }
  $jobs{$id} = $j;
  $bypid{$pid} = $id;
  done($id);
}
sub fail {
  my ($id, $msg) = @_;
  print 'R ', $id, ' ', 127 << 8, ' ', '', ' ', hexs("shoal-spawner: $msg\n"), ' ', '', ' ', 0, "\n";
}
sub reap {
  while ((my $pid = waitpid(-1, 1)) > 0) {
    my $id = delete $bypid{$pid};
    next unless defined $id && $jobs{$id};
    $jobs{$id}{status} = $?;
    done($id);
  }
}
for (;;) {
  reap();
  exit 0 if $eof && !%jobs;
  my ($rin, $win) = ('', '');
  vec($rin, 0, 1) = 1 unless $eof;
  vec($rin, fileno($sig_r), 1) = 1;
  vec($rin, $_, 1) = 1 for keys %rd;
  vec($win, $_, 1) = 1 for keys %wr;
  my $n = select(my $rout = $rin, my $wout = $win, undef, 1);
  next if $n <= 0;
  if (vec($rout, fileno($sig_r), 1)) { sysread($sig_r, my $x, 1); $sig_pending = 0; }
  for my $fd (keys %wr) {
    next unless vec($wout, $fd, 1);
    my $w = $wr{$fd};
    # At most PIPE_BUF: select said that much fits, so the write cannot block.
    my $k = syswrite($w->[1], $w->[2], 4096);
    if (!defined $k || $k >= length($w->[2])) { close($w->[1]); delete $wr{$fd}; }
    else { substr($w->[2], 0, $k, ''); }
  }
  for my $fd (keys %rd) {
    next unless vec($rout, $fd, 1);
    my ($id, $s, $fh) = @{$rd{$fd}};
    my $got = sysread($fh, my $chunk, 65536);
    if ($got) { $jobs{$id}{$s} .= $chunk if $jobs{$id}; next; }
    close($fh); delete $rd{$fd};
    if ($jobs{$id}) { $jobs{$id}{open}--; done($id); }
  }
  if (!$eof && vec($rout, 0, 1)) {
    my $got = sysread(STDIN, my $chunk, 65536);
    if (!$got) { $eof = 1; next; }
    $in .= $chunk;
    while ((my $i = index($in, "\n")) >= 0) {
      my @f = split(/ /, substr($in, 0, $i + 1, ''), -1);
      chomp($f[-1]);
      if ($f[0] eq 'S') { start(@f[1 .. 6]); }
      elsif ($f[0] eq 'K' && $jobs{$f[1]}) { kill($f[2], $jobs{$f[1]}{pid}); }
    }
  }
}
`;

interface Pending {
  resolve: (r: SpawnResult) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
}

export class Spawner {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private buf = '';

  constructor(private readonly perl = 'perl') {}

  run(req: SpawnRequest): Promise<SpawnResult> {
    const child = this.ensure();
    const id = ++this.seq;
    const flags = 'x' + (req.env ? 'e' : '') + requestFlags(req);
    // 'e': the env field replaces the spawner's environment (which it
    // inherited from the agent); without it the field adds to that.
    const env = Object.entries(req.env ?? req.extraEnv ?? {})
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const line = [
      'S',
      String(id),
      flags,
      hex(req.file),
      hex([req.file, ...req.args].join('\0')),
      hex(env.join('\0')),
      hex(req.stdin ?? ''),
    ].join(' ');
    return this.send(child, id, line, req.timeoutMs);
  }

  /** Runs one of the built-ins (see the header); exit code 0, or 1 with the reason on stderr. */
  builtin(
    name: Builtin,
    args: string[],
    opts: Pick<SpawnRequest, 'fd3' | 'noWait' | 'quiet' | 'ownGroup'> = {},
  ): Promise<SpawnResult> {
    const child = this.ensure();
    const id = ++this.seq;
    const line = [
      'S',
      String(id),
      'xb' + requestFlags(opts),
      hex(name),
      hex([name, ...args].join('\0')),
      '',
      '',
    ];
    return this.send(child, id, line.join(' '));
  }

  private send(
    child: ChildProcess,
    id: number,
    line: string,
    timeoutMs?: number,
  ): Promise<SpawnResult> {
    return new Promise<SpawnResult>((resolve, reject) => {
      const p: Pending = { resolve, reject, timedOut: false };
      if (timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          p.timedOut = true;
          child.stdin?.write(`K ${id} 9\n`);
        }, timeoutMs);
      }
      if (this.pending.size === 0) this.ref(child, true);
      this.pending.set(id, p);
      child.stdin?.write(`${line}\n`);
    });
  }

  /** Closes the spawner's stdin: it exits once its children have. */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    // Own process group, as the monitors had with `detached`; unref'd so it
    // never keeps the agent process alive.
    const syscalls = SYSCALLS[arch];
    if (syscalls === undefined)
      throw new Error(`spawner: no system call numbers known for ${arch}`);
    const child = spawn(this.perl, ['-e', SPAWNER_SCRIPT, ...syscalls.map(String)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: true,
      cwd: '/',
    });
    child.unref();
    this.ref(child, false);
    child.stdin?.on('error', () => undefined);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.onData(chunk));
    const gone = (why: string): void => {
      if (this.child === child) this.child = undefined;
      const err = new Error(`spawner: ${why}`);
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(err);
      }
    };
    child.once('error', (err) => gone(err.message));
    child.once('exit', (code, signal) => gone(`exited (${signal ?? code ?? '?'})`));
    this.child = child;
    return child;
  }

  /** The pipes keep the agent's event loop alive only while answers are awaited. */
  private ref(child: ChildProcess, on: boolean): void {
    for (const stream of [child.stdin, child.stdout] as (Socket | null)[]) {
      if (on) stream?.ref();
      else stream?.unref();
    }
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      const [tag, id, status, out, err, fd3, pid] = line.split(' ');
      if (tag !== 'R') continue;
      const p = this.pending.get(Number(id));
      if (!p) continue;
      this.pending.delete(Number(id));
      clearTimeout(p.timer);
      if (this.pending.size === 0 && this.child) this.ref(this.child, false);
      const raw = Number(status);
      const sig = raw >= 0 ? raw & 0x7f : 0;
      p.resolve({
        exitCode: raw < 0 ? null : sig === 0 ? (raw >> 8) & 0xff : null,
        signal: sig === 0 ? null : signalName(sig),
        stdout: unhex(out),
        stderr: unhex(err),
        fd3: unhex(fd3),
        timedOut: p.timedOut,
        pid: Number(pid ?? 0),
      });
    }
  }
}

function requestFlags(req: Pick<SpawnRequest, 'fd3' | 'noWait' | 'quiet' | 'ownGroup'>): string {
  return (
    (req.ownGroup ? 'g' : '') +
    (req.fd3 ? '3' : '') +
    (req.noWait ? 'n' : '') +
    (req.quiet ? 'q' : '')
  );
}

function hex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

function unhex(s: string | undefined): string {
  return Buffer.from(s ?? '', 'hex').toString('utf8');
}

function signalName(n: number): NodeJS.Signals | null {
  const e = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return (e?.[0] as NodeJS.Signals | undefined) ?? null;
}

/** The agent's one spawner, made on first use. */
let shared: Spawner | undefined;
export function sharedSpawner(): Spawner {
  shared ??= new Spawner();
  return shared;
}
