//! The guest attempts of the escape suite, as data: what the guest runs, how the host judges
//! it, and whether `local` (which isolates nothing) is expected to let it through.

use std::path::Path;

use subrun_tests::{Kind, Target};

use crate::escape::{GATEWAY, LocalExpect, MOUNT_TARGET, Stage};

/// What the guest runs.
pub(crate) enum Cmd {
    /// `escape_attempt` with these arguments (steps separated by `+`).
    Fixture(Vec<String>),
    /// A command line of its own (the command word is the attempt).
    Raw(String),
}

/// How the guest's own report adds to the host's evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Judge {
    /// Only what the host observes counts.
    Host,
    /// A successful last step is itself the escape (e.g. resolving the host's own name).
    DoneIsEscape,
    /// A program the guest started exiting 0 is the escape (a privileged operation).
    ExitZeroIsEscape,
}

/// One attempt.
pub(crate) struct Attempt {
    pub(crate) group: &'static str,
    pub(crate) name: &'static str,
    pub(crate) cmd: Cmd,
    pub(crate) local: LocalExpect,
    pub(crate) judge: Judge,
    /// Why a successful step counts as an escape (for [`Judge`] other than `Host`).
    pub(crate) done_means: &'static str,
    pub(crate) needs_gateway: bool,
    /// A port the guest listens on; the host tries to connect to it meanwhile.
    pub(crate) serve_port: Option<u16>,
}

/// Would change the host itself if it worked under `local`.
const HOST_CHANGING: &str =
    "would act on the host itself under local (trusted code only: it isolates nothing)";

/// Why the mount attempts do not run on `local`.
const NO_MOUNTS: &str = "local refuses spawn mounts (a host process sees the host as it is)";

/// What `/proc/1/root` needs.
const PID1: &str =
    "reading /proc/1/root needs ptrace access to pid 1 (root, and no LSM forbidding it)";

fn attempt(group: &'static str, name: &'static str, local: LocalExpect, steps: &[&str]) -> Attempt {
    Attempt {
        group,
        name,
        cmd: Cmd::Fixture(steps.iter().map(|s| (*s).to_string()).collect()),
        local,
        judge: Judge::Host,
        done_means: "",
        needs_gateway: false,
        serve_port: None,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Every guest attempt for `t`, given the stage and the workspace's host path.
pub(crate) fn all(t: &Target, st: &Stage, ws: &Path) -> Vec<Attempt> {
    use LocalExpect::{Depends, Escapes, Holds, Skip};
    let secret = st.secret_str();
    let outside = st.outside_str();
    let rel_secret = Stage::climb(ws, &secret);
    let rel_outside = Stage::climb(ws, &outside);
    let n = &st.nonce;
    let pid = std::process::id().to_string();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let tcp_port = st.tcp.local_addr().expect("tcp port").port().to_string();
    let udp_port = st.udp.local_addr().expect("udp port").port().to_string();
    let asset = "{{static:asset}}";
    let data = "{{static:data}}";
    let m = MOUNT_TARGET;

    let w_out = format!("{outside}/written-{n}.txt");
    let w_beside = format!("../escape-{n}.txt");
    let mkdir_out = format!("{outside}/dir-{n}");
    let through_abs = format!("link-abs-{n}/written.txt");
    let through_rel = format!("link-rel-{n}/written.txt");
    let link_abs = format!("link-abs-{n}");
    let link_rel = format!("link-rel-{n}");
    let moved_out = format!("{outside}/moved-{n}.txt");
    let moved_beside = format!("../moved-{n}.txt");
    let proc_env = format!("/proc/{pid}/environ");
    let proc_cmd = format!("/proc/{pid}/cmdline");
    let proc_self_root = format!("/proc/self/root{secret}");
    let proc_1_root = format!("/proc/1/root{secret}");
    let proc_host_root = format!("/proc/{pid}/root{secret}");
    let proc_cwd = format!("/proc/self/cwd/{rel_secret}");
    let asset_file = format!("{data}/data.txt");
    let asset_new = format!("{data}/new-{n}.txt");
    let mount_file = format!("{m}/data.txt");
    let mount_new = format!("{m}/new-{n}.txt");
    let mount_dir = format!("{m}/dir-{n}");
    let cat_secret = format!("cat {secret}");
    let serve_port = free_port();
    let serve_port_s = serve_port.to_string();

    let mut v = vec![
        // Paths.
        attempt(
            "paths",
            "read the secret through ../ traversal",
            Escapes,
            &["read", &rel_secret],
        ),
        attempt(
            "paths",
            "read the secret by its absolute host path",
            Escapes,
            &["read", &secret],
        ),
        attempt(
            "paths",
            "list the directory that holds the secret",
            Escapes,
            &["list", &outside],
        ),
        attempt(
            "paths",
            "write a file beside the workspace (../)",
            Escapes,
            &["write", &w_beside],
        ),
        attempt(
            "paths",
            "write a file outside by absolute path",
            Escapes,
            &["write", &w_out],
        ),
        attempt(
            "paths",
            "create a directory outside",
            Escapes,
            &["mkdir", &mkdir_out],
        ),
        attempt(
            "paths",
            "overwrite the secret",
            Escapes,
            &["write", &secret],
        ),
        attempt("paths", "delete the secret", Escapes, &["remove", &secret]),
        // Links made inside the workspace that point outside.
        attempt(
            "links",
            "relative symlink to the secret, read through it",
            Escapes,
            &["symlink", &rel_secret, "l1", "+", "read", "l1"],
        ),
        attempt(
            "links",
            "absolute symlink to the secret, read through it",
            Escapes,
            &["symlink", &secret, "l2", "+", "read", "l2"],
        ),
        attempt(
            "links",
            "absolute symlink to the outside dir, write through it",
            Escapes,
            &["symlink", &outside, &link_abs, "+", "write", &through_abs],
        ),
        attempt(
            "links",
            "relative symlink to the outside dir, write through it",
            Escapes,
            &[
                "symlink",
                &rel_outside,
                &link_rel,
                "+",
                "write",
                &through_rel,
            ],
        ),
        attempt(
            "links",
            "hard link to the secret, read through it",
            Escapes,
            &["hardlink", &secret, "h1", "+", "read", "h1"],
        ),
        attempt(
            "links",
            "hard link to the secret, write through it",
            Escapes,
            &["hardlink", &secret, "h2", "+", "append", "h2"],
        ),
        // Renames across the boundary.
        attempt(
            "renames",
            "rename a workspace file out (absolute)",
            Escapes,
            &["write", "r1.txt", "+", "rename", "r1.txt", &moved_out],
        ),
        attempt(
            "renames",
            "rename a workspace file out (../)",
            Escapes,
            &["write", "r2.txt", "+", "rename", "r2.txt", &moved_beside],
        ),
        attempt(
            "renames",
            "rename the secret into the workspace",
            Escapes,
            &["rename", &secret, "stolen.txt"],
        ),
        // Static assets (read-only).
        attempt(
            "assets",
            "overwrite a file asset",
            Escapes,
            &["write", asset],
        ),
        attempt(
            "assets",
            "truncate a file asset",
            Escapes,
            &["truncate", asset],
        ),
        attempt(
            "assets",
            "create a file in a directory asset",
            Escapes,
            &["write", &asset_new],
        ),
        attempt(
            "assets",
            "delete a file of a directory asset",
            Escapes,
            &["remove", &asset_file],
        ),
        attempt(
            "assets",
            "rename a file of a directory asset into the workspace",
            Escapes,
            &["rename", &asset_file, "taken.txt"],
        ),
        attempt(
            "assets",
            "hard link a file asset into the workspace, write through it",
            Escapes,
            &["hardlink", asset, "alink", "+", "append", "alink"],
        ),
        attempt(
            "assets",
            "set a file asset's mtime",
            Escapes,
            &["set-times", asset],
        ),
        attempt("assets", "chmod a file asset", Escapes, &["chmod", asset]),
        // A read-only spawn mount.
        attempt(
            "mounts",
            "overwrite a file in a read-only mount",
            Escapes,
            &["write", &mount_file],
        ),
        attempt(
            "mounts",
            "create a file in a read-only mount",
            Escapes,
            &["write", &mount_new],
        ),
        attempt(
            "mounts",
            "delete a file of a read-only mount",
            Escapes,
            &["remove", &mount_file],
        ),
        attempt(
            "mounts",
            "create a directory in a read-only mount",
            Escapes,
            &["mkdir", &mount_dir],
        ),
        attempt(
            "mounts",
            "rename a file out of a read-only mount",
            Escapes,
            &["rename", &mount_file, "taken.txt"],
        ),
        attempt(
            "mounts",
            "hard link a mounted file into the workspace, write through it",
            Escapes,
            &["hardlink", &mount_file, "mlink", "+", "append", "mlink"],
        ),
        attempt(
            "mounts",
            "set a mounted file's mtime",
            Escapes,
            &["set-times", &mount_file],
        ),
        // The host's environment and /proc.
        attempt(
            "env and /proc",
            "read the environment (host variables)",
            Holds,
            &["env"],
        ),
        attempt(
            "env and /proc",
            "read /proc/self/environ",
            Holds,
            &["read", "/proc/self/environ"],
        ),
        attempt(
            "env and /proc",
            "read the host process's /proc/<pid>/environ",
            Escapes,
            &["read", &proc_env],
        ),
        attempt(
            "env and /proc",
            "read the host process's /proc/<pid>/cmdline",
            Escapes,
            &["read", &proc_cmd],
        ),
        attempt(
            "env and /proc",
            "read the secret through /proc/self/root",
            Escapes,
            &["read", &proc_self_root],
        ),
        attempt(
            "env and /proc",
            "read the secret through /proc/1/root",
            Depends(PID1),
            &["read", &proc_1_root],
        ),
        attempt(
            "env and /proc",
            "read the secret through the host process's /proc/<pid>/root",
            Escapes,
            &["read", &proc_host_root],
        ),
        attempt(
            "env and /proc",
            "read the secret through /proc/self/cwd and ../",
            Escapes,
            &["read", &proc_cwd],
        ),
        // Network.
        attempt(
            "network",
            "connect to a host TCP port on 127.0.0.1",
            Escapes,
            &["tcp", "127.0.0.1", &tcp_port],
        ),
        attempt(
            "network",
            "send a UDP datagram to a host port on 127.0.0.1",
            Escapes,
            &["udp", "127.0.0.1", &udp_port],
        ),
        attempt(
            "network",
            "listen on a port the host connects to",
            Escapes,
            &["serve", &serve_port_s, "1500"],
        ),
    ];
    let mut gw = attempt(
        "network",
        "connect to a host TCP port on the docker bridge",
        Escapes,
        &["tcp", GATEWAY, &tcp_port],
    );
    gw.needs_gateway = true;
    v.push(gw);
    let mut resolve = attempt(
        "network",
        "resolve the host's own name",
        Escapes,
        &["resolve", &hostname],
    );
    resolve.judge = Judge::DoneIsEscape;
    resolve.done_means = "only the host's resolver knows this name";
    v.push(resolve);
    // Processes: a program outside the grants, and a host shell.
    let (evil, ext) = (
        st.evil(t.kind),
        if t.kind == Kind::Wasi { ".wasm" } else { "" },
    );
    let rel_evil = Stage::climb(ws, &format!("{outside}/evil{ext}"));
    for (name, word) in [
        ("run a program outside the grants (absolute path)", evil),
        ("run a program outside the grants (../ path)", rel_evil),
    ] {
        v.push(Attempt {
            cmd: Cmd::Raw(format!(
                "{} read {}",
                shell_words::quote(&word),
                shell_words::quote(&secret)
            )),
            ..attempt("processes", name, Escapes, &[])
        });
    }
    v.push(attempt(
        "processes",
        "start a shell that reads the secret",
        Escapes,
        &["exec", "/bin/sh", "-c", &cat_secret],
    ));
    // Privileges (what the container's dropped capabilities and read-only /proc refuse).
    for (name, script) in [
        ("mount a tmpfs", "mount -t tmpfs tmpfs /mnt"),
        ("create a block device node", "mknod /tmp/subrun-disk b 8 0"),
        (
            "give a file to another user",
            "touch /tmp/subrun-owned && chown 4242:4242 /tmp/subrun-owned",
        ),
        (
            "raise the pids limit through /sys/fs/cgroup",
            "echo max > /sys/fs/cgroup/pids/pids.max",
        ),
        ("write /proc/sysrq-trigger", "echo h > /proc/sysrq-trigger"),
        ("change the hostname", "hostname subrun-escaped"),
    ] {
        let mut a = attempt(
            "privileges",
            name,
            Skip(HOST_CHANGING),
            &["exec", "/bin/sh", "-c", script],
        );
        a.judge = Judge::ExitZeroIsEscape;
        a.done_means = "a privileged operation succeeded";
        v.push(a);
    }
    for a in &mut v {
        if a.group == "mounts" {
            a.local = Skip(NO_MOUNTS);
        }
        if a.group == "network" && a.name.starts_with("listen") {
            a.serve_port = Some(serve_port);
        }
    }
    v
}
