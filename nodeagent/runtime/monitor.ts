// The per-container monitor: a few lines of Perl that stay behind as the
// container's parent so its exit status is not lost. See README.md for why.
//
// Perl, because perl-base is Essential on Debian (always installed) and has
// the two things Node lacks: prctl(PR_SET_CHILD_SUBREAPER) through syscall(),
// and waitpid() on processes it did not spawn itself.
//
// Protocol: argv = prctl syscall number, exit file, pid file, container id,
// then the full `runc … create …` command. The monitor makes itself a child
// subreaper and runs that command with its own stdin/stdout/stderr, which
// runc hands on to the container (the agent opened them on the log files).
// When runc create returns, the container's init has been reparented to the
// monitor. The monitor writes one line to fd 3, "created <pid>" or
// "error <wait status>", closes it, and waits; when init is reaped it writes
// {"pid":…,"status":<raw wait status>,"time":<epoch s>} to the exit file
// (via a rename) and exits.

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

export const MONITOR_SCRIPT = String.raw`
use strict;
# No warnings: anything printed lands in the container's stderr log.
my ($prctl, $exit_file, $pid_file, $id, @runc) = @ARGV;
$0 = "shoal-monitor $id";
open(my $status, '>&=', 3) or die "shoal-monitor: fd 3: $!\n";
sub report { print {$status} "$_[0]\n"; close($status); }
# PR_SET_CHILD_SUBREAPER = 36
if (syscall($prctl, 36, 1, 0, 0, 0) != 0) { report("error prctl: $!"); exit 1; }
my $child = fork();
if (!defined $child) { report("error fork: $!"); exit 1; }
if ($child == 0) {
  close($status);
  exec { $runc[0] } @runc or exit 127;
}
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
my $st = -1;
while ((my $p = waitpid(-1, 0)) > 0) {
  if ($p == $pid) { $st = $?; last; }
}
my $now = eval { require Time::HiRes; Time::HiRes::time() } // time();
open(my $ef, '>', "$exit_file.tmp") or die "shoal-monitor: $exit_file.tmp: $!\n";
print {$ef} "{\"pid\":$pid,\"status\":$st,\"time\":$now}\n";
close($ef) or die "shoal-monitor: $exit_file.tmp: $!\n";
rename("$exit_file.tmp", $exit_file) or die "shoal-monitor: $exit_file: $!\n";
exit 0;
`;
