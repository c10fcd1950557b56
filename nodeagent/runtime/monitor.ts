// The per-container monitor: a few lines of Perl that stay behind as the
// container's parent so its exit status is not lost, and that write the
// container's output to its log files. See README.md for why.
//
// Perl, because perl-base is Essential on Debian (always installed) and has
// the two things Node lacks: prctl(PR_SET_CHILD_SUBREAPER) through syscall(),
// and waitpid() on processes it did not spawn itself.
//
// The spawner (../spawner.ts) runs the script in a fork of itself, with
// @ARGV set, as its `monitor` built-in. Protocol: argv = prctl syscall number, exit file, pid file, container id,
// stdout log path, stderr log path (may be the same), then the full
// `runc … create …` command. The monitor makes itself a child subreaper,
// opens the log files (append), makes one pipe for stdout and one for
// stderr, and runs that command with the pipes' write ends as its stdout
// and stderr, which runc hands on to the container. When runc create
// returns, the container's init has been reparented to the monitor. The
// monitor writes one line to its status pipe ($main::STATUS), "created <pid>" or "error <text>",
// closes it, and then reads the pipes and appends every line to the log in
// the kubelet's CRI format (log-format.ts):
//
//   2026-11-23T11:00:00.123456000Z stdout F a whole line
//   2026-11-23T11:00:00.123456000Z stderr P part of a longer line
//
// A line longer than 16 KiB, or an unfinished one the container has not
// added to for a while, is written as "P" pieces. When init is reaped (and
// the pipes are drained: every writer is gone, or 2 s passed) it writes
// {"pid":…,"status":<raw wait status>,"time":<epoch s>} to the exit file
// (via a rename) and exits. The monitor, not the agent, owns the pipes, so
// output keeps flowing into the log while the agent is down.

import { arch } from 'node:process';

/** prctl(2)'s number on the architectures Shoal runs on. */
const PRCTL_SYSCALL: Partial<Record<NodeJS.Architecture, number>> = {
  x64: 157,
  arm64: 167,
  riscv64: 167,
};

export function prctlSyscallNumber(): number {
  const nr = PRCTL_SYSCALL[arch];
  if (nr === undefined)
    throw new Error(`container monitor: no prctl syscall number known for ${arch}`);
  return nr;
}

// Notes on the script: no `use warnings` (nothing may print); WNOHANG is 1 on
// Linux (POSIX.pm is not in perl-base); Time::HiRes is in libperl, installed
// with perl everywhere that matters, and whole seconds are the fallback.
export const MONITOR_SCRIPT = String.raw`
use strict;
my ($prctl, $exit_file, $pid_file, $id, $out_path, $err_path, @runc) = @ARGV;
$0 = "shoal-monitor $id";
my $status = $main::STATUS or die "shoal-monitor: no status pipe\n";
sub report { print {$status} "$_[0]\n"; close($status); }
my $hires = eval { require Time::HiRes; 1 };
sub now { return $hires ? Time::HiRes::time() : time(); }
sub stamp {
  my ($s, $us) = $hires ? Time::HiRes::gettimeofday() : (time(), 0);
  my @g = gmtime($s);
  return sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06d000Z",
    $g[5] + 1900, $g[4] + 1, $g[3], $g[2], $g[1], $g[0], $us);
}
my %log;
open($log{stdout}, '>>', $out_path) or do { report("error log $out_path: $!"); exit 1; };
if ($err_path eq $out_path) { $log{stderr} = $log{stdout}; }
else { open($log{stderr}, '>>', $err_path) or do { report("error log $err_path: $!"); exit 1; }; }
my (%in, $out_w, $err_w);
pipe($in{stdout}, $out_w) or do { report("error pipe: $!"); exit 1; };
pipe($in{stderr}, $err_w) or do { report("error pipe: $!"); exit 1; };
# PR_SET_CHILD_SUBREAPER = 36
if (syscall($prctl, 36, 1, 0, 0, 0) != 0) { report("error prctl: $!"); exit 1; }
my $child = fork();
if (!defined $child) { report("error fork: $!"); exit 1; }
if ($child == 0) {
  close($status);
  open(STDOUT, '>&', $out_w) or exit 127;
  open(STDERR, '>&', $err_w) or exit 127;
  exec { $runc[0] } @runc or exit 127;
}
close($out_w);
close($err_w);
waitpid($child, 0);
my $rc = $?;
# Set only now: runc and the container inherited the default disposition. A
# write to an agent that died must not kill the monitor.
$SIG{PIPE} = 'IGNORE';
$SIG{HUP} = 'IGNORE';
if ($rc != 0) { report("error $rc"); exit 1; }
my $pid = 0;
if (open(my $pf, '<', $pid_file)) { my $l = <$pf>; close($pf); $pid = int($l // 0); }
if ($pid <= 0) { report("error pid-file"); exit 1; }
report("created $pid");

my %buf = (stdout => '', stderr => '');
my %since;
my $MAX = 16384;
sub emit {
  my ($s, $tag, $text) = @_;
  my $line = stamp() . " $s $tag $text\n";
  syswrite($log{$s}, $line);
}
sub flush_lines {
  my ($s) = @_;
  while ((my $i = index($buf{$s}, "\n")) >= 0) {
    if ($i > $MAX) { emit($s, 'P', substr($buf{$s}, 0, $MAX, '')); next; }
    my $text = substr($buf{$s}, 0, $i + 1, '');
    chop($text);
    emit($s, 'F', $text);
  }
  while (length($buf{$s}) >= $MAX) { emit($s, 'P', substr($buf{$s}, 0, $MAX, '')); }
  if (length($buf{$s}) == 0) { delete $since{$s}; } else { $since{$s} //= now(); }
}
sub flush_partial {
  my ($s) = @_;
  emit($s, 'P', $buf{$s}) if length($buf{$s}) > 0;
  $buf{$s} = '';
  delete $since{$s};
}
my $st = -1;
my $reaped = 0;
my $exit_time = 0;
my $drain_until = 0;
for (;;) {
  my $rin = '';
  for my $s (keys %in) { vec($rin, fileno($in{$s}), 1) = 1; }
  my $n = 0;
  my $rout;
  # Output and EOF wake the select; the timeout only serves unfinished lines
  # and a container that exits while something else still holds its pipes.
  if (%in) { $n = select($rout = $rin, undef, undef, %since ? 0.25 : 1); }
  elsif (!$reaped) {
    # Both pipes closed: nothing to read, so just wait for init.
    while ((my $p = waitpid(-1, 0)) > 0) {
      if ($p == $pid) { $st = $?; $reaped = 1; $exit_time = now(); last; }
    }
    $reaped = 1;
    $exit_time ||= now();
  }
  if ($n > 0) {
    for my $s (keys %in) {
      next unless vec($rout, fileno($in{$s}), 1);
      my $got = sysread($in{$s}, my $data, 65536);
      if (!$got) { close($in{$s}); delete $in{$s}; flush_partial($s); next; }
      $buf{$s} .= $data;
      flush_lines($s);
    }
  }
  # An unfinished line the container has not added to for a second: a prompt, say.
  for my $s (keys %since) { flush_partial($s) if now() - $since{$s} > 1; }
  while (!$reaped && (my $p = waitpid(-1, 1)) > 0) {
    if ($p == $pid) { $st = $?; $reaped = 1; $exit_time = now(); $drain_until = $exit_time + 2; }
  }
  # Reap orphans the container leaves behind, too.
  if ($reaped) { while (waitpid(-1, 1) > 0) {} }
  last if $reaped && (!%in || now() > $drain_until);
}
for my $s ('stdout', 'stderr') { flush_partial($s); }
my $t = $exit_time;
open(my $ef, '>', "$exit_file.tmp") or die "shoal-monitor: $exit_file.tmp: $!\n";
print {$ef} "{\"pid\":$pid,\"status\":$st,\"time\":$t}\n";
close($ef) or die "shoal-monitor: $exit_file.tmp: $!\n";
rename("$exit_file.tmp", $exit_file) or die "shoal-monitor: $exit_file: $!\n";
exit 0;
`;
