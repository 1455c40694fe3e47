//! The small POSIX shell programs the runtime runs inside the container. They use only shell
//! builtins (`kill` included) and `/proc`, so they work with busybox, dash or bash images and
//! never need to fork (the keep-alive aside).
//!
//! Every exec'd process is its own session leader (runc starts it with `setsid`), so a
//! command's processes are found by their session id in `/proc/<pid>/stat` (field 6, and the
//! process group, field 5).
//!
//! `stat` is read whole, every line of it: the command name (field 2) is whatever the process
//! calls itself, newlines and `)` included, so the fields after it start after the *last*
//! `) ` of the file (`${l##*) }`). Reading only the first line let a process named
//! `busybox\nx` hide its session id from every sweep.

/// Keeps the container alive while its lease holds (PID 1 is the engine's init, which reaps
/// orphans): it reads stdin, which the owning process holds attached, and exits at its end of
/// file — when the owner detaches at cleanup or dies. Its exit ends the engine's init, and the
/// kernel then kills every process left in the container's pid namespace, so no command
/// outlives its owner by more than the engine's reaction time.
pub(crate) const KEEPALIVE: &str = "trap 'exit 0' TERM INT; while read -r _; do :; done; exit 0";

/// Runs one command: prints its own pid (the session id of everything the command starts) as
/// the first line of stdout, runs `$1` with `/bin/sh -c`, then kills whatever the command left
/// running in its session and exits with the command's status. The wrapper's own stderr is
/// /dev/null (a shell reports a child killed by a signal as `Terminated`; ash even does so
/// while a redirection of the child is in place, hence the redirection inside the child).
///
/// Arguments: `$1` = the command; `$2` = `keep` to leave its leftovers running (setup
/// commands: a service a setup command starts is meant to outlive it).
pub(crate) const WRAPPER: &str = r#"printf '%s\n' "$$"
exec 3>&2 2>/dev/null
/bin/sh -c 'exec 2>&3 3>&-; exec /bin/sh -c "$1"' sh "$1"
c=$?
[ "$2" = keep ] && exit $c
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$$" ] && continue
  l=
  { while IFS= read -r x; do l="$l $x"; done < "$d/stat"; } 2>/dev/null
  [ -n "$l" ] || continue
  set -- ${l##*) }
  [ "$4" = "$$" ] && kill -9 "$p" 2>/dev/null
done
exit $c
"#;

/// Ends a command: every process of session (or process group) `$2`.
///
/// Phase `$1`: `term` sends SIGTERM (to the command's process group at once, then to every
/// process of the session) and gives up to 200 ms of grace, then goes on as `kill`; `kill`
/// sends SIGKILL to the command's process group at once (a process cannot fork past a signal
/// sent to its whole group: the kernel refuses a fork while a signal is pending), then SIGKILL
/// to every process of the session, pass after pass, until a pass finds none, zombies aside
/// (a process that left the group can still fork during a pass; the next pass gets its
/// children). Nothing is forked (the grace period spins on `/proc/uptime`), so the sweep works
/// at the pids limit. When none is left alive it waits (up to 1 s) until the zombies of the
/// ended processes are reaped by the container's init: a zombie still counts toward the pids
/// limit, so the next command could not fork while a fork bomb's zombies remain. Prints `gone`
/// when none is left, `left` when some survived, nothing when it never ran.
///
/// Then optionally `all` followed by session ids to spare: with `all`, every other process is
/// ended too except sessions 1 (the keep-alive), the spared ones and the sweeper's own — this
/// catches processes that left the command's session with `setsid`.
pub(crate) const KILL: &str = r#"phase=$1; s=$2; shift 2
all=
if [ "$1" = all ]; then all=1; shift; fi
keep=" 1 $* "
me=$$
sweep() {
  hit=
  zomb=
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$me" ] && continue
    l=
    { while IFS= read -r x; do l="$l $x"; done < "$d/stat"; } 2>/dev/null
    [ -n "$l" ] || continue
    set -- ${l##*) }
    if [ "$4" = "$s" ] || [ "$3" = "$s" ]; then
      :
    elif [ -n "$all" ] && [ "$4" != "$me" ]; then
      case "$keep" in *" $4 "*) continue ;; esac
    else
      continue
    fi
    if [ "$1" = Z ]; then zomb=1; continue; fi
    kill -"$sig" "$p" 2>/dev/null && hit=1
  done
  [ -n "$hit" ]
}
gone() {
  read -r up _ < /proc/uptime
  lim=$(( ${up%.*}${up#*.} + 100 ))
  while [ -n "$zomb" ]; do
    read -r up _ < /proc/uptime
    [ $(( ${up%.*}${up#*.} )) -ge $lim ] && break
    sweep && return 1
  done
  echo gone
  exit 0
}
if [ "$phase" = term ]; then
  sig=TERM
  kill -TERM "-$s" 2>/dev/null
  sweep || gone
  read -r up _ < /proc/uptime
  end=$(( ${up%.*}${up#*.} + 20 ))
  while :; do
    sig=0
    sweep || gone
    read -r up _ < /proc/uptime
    [ $(( ${up%.*}${up#*.} )) -ge $end ] && break
  done
fi
sig=KILL
kill -KILL "-$s" 2>/dev/null
n=0
while [ $n -lt 5000 ]; do
  sweep || gone
  n=$((n+1))
done
echo left
exit 1
"#;

/// Prints the session id of every live process outside the caller's own session, one a line.
pub(crate) const SESSIONS: &str = r#"me=$$
for d in /proc/[0-9]*; do
  l=
  { while IFS= read -r x; do l="$l $x"; done < "$d/stat"; } 2>/dev/null
  [ -n "$l" ] || continue
  set -- ${l##*) }
  [ "$1" = Z ] && continue
  [ "$4" = "$me" ] || printf '%s\n' "$4"
done
"#;

/// Prints the container's OOM-kill count (cgroup v2 `memory.events` or v1
/// `memory.oom_control`); exits 1 when neither is readable.
pub(crate) const OOM_KILLS: &str = r#"for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do
  [ -r "$f" ] || continue
  while read -r k v; do
    if [ "$k" = oom_kill ]; then echo "$v"; exit 0; fi
  done < "$f"
done
exit 1
"#;
