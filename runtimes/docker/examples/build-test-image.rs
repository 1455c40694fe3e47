//! Builds the `subrun-test/busybox:latest` test image through the Docker Engine API (no docker
//! CLI, no registry): a root filesystem made of a static busybox, one symlink per applet, `/tmp`,
//! `/workspace` and an `/etc/passwd` with a non-root user (`subrun`, uid 1000), imported as an
//! image with `POST /images/create?fromSrc=-`.
//!
//! ```text
//! build-test-image --check                 exit 0 when the image exists, 1 when it does not
//! build-test-image --busybox PATH [--force] build it from PATH (a static busybox binary)
//! ```
//!
//! `scripts/build-test-images.sh` fetches Debian's `busybox-static` and calls this.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt;
use subrun_docker::TEST_IMAGE;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug)]
struct Args {
    check: bool,
    force: bool,
    busybox: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        check: false,
        force: false,
        busybox: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--check" => args.check = true,
            "--force" => args.force = true,
            "--busybox" => {
                args.busybox = Some(
                    it.next()
                        .ok_or("--busybox needs a path to a static busybox binary")?
                        .into(),
                );
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("build-test-image: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("build-test-image: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<ExitCode, BoxError> {
    let docker = Docker::connect_with_defaults()?.negotiate_version().await?;
    let exists = docker.inspect_image(TEST_IMAGE).await.is_ok();
    if args.check {
        println!(
            "{TEST_IMAGE}: {}",
            if exists { "present" } else { "missing" }
        );
        return Ok(if exists {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if exists && !args.force {
        println!("{TEST_IMAGE} already exists; nothing to do");
        return Ok(ExitCode::SUCCESS);
    }
    let busybox = args
        .busybox
        .as_deref()
        .ok_or("--busybox PATH is required to build the image")?;
    let rootfs = rootfs_tar(busybox)?;
    if exists {
        // --force: drop the old image first so it does not linger untagged.
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::new()
            .force(true)
            .build();
        docker.remove_image(TEST_IMAGE, Some(options), None).await?;
    }
    let size = rootfs.len();
    let (repo, tag) = TEST_IMAGE.rsplit_once(':').ok_or("TEST_IMAGE has no tag")?;
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(vec![
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            "WORKDIR /".into(),
            "CMD [\"/bin/sh\"]".into(),
        ])
        .build();
    let mut progress =
        docker.create_image(Some(options), Some(bollard::body_full(rootfs.into())), None);
    while let Some(item) = progress.next().await {
        let info = item.map_err(|e| format!("importing {TEST_IMAGE}: {e}"))?;
        if let Some(status) = info.status {
            println!("{status}");
        }
    }
    docker
        .inspect_image(TEST_IMAGE)
        .await
        .map_err(|e| format!("{TEST_IMAGE} is missing after the import: {e}"))?;
    println!("built {TEST_IMAGE} ({size} bytes of root filesystem)");
    Ok(ExitCode::SUCCESS)
}

/// The applets `busybox --list-full` reports (paths like `bin/sh`, `usr/bin/wget`).
fn applets(busybox: &Path) -> Result<Vec<String>, BoxError> {
    let out = std::process::Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| format!("cannot run `{} --list-full`: {e}", busybox.display()))?;
    if !out.status.success() {
        return Err(format!("`{} --list-full` failed: {}", busybox.display(), out.status).into());
    }
    let list = String::from_utf8(out.stdout)?;
    Ok(list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "bin/busybox")
        .map(str::to_string)
        .collect())
}

fn rootfs_tar(busybox: &Path) -> Result<Vec<u8>, BoxError> {
    let binary = std::fs::read(busybox)
        .map_err(|e| format!("cannot read busybox at {}: {e}", busybox.display()))?;
    let applets = applets(busybox)?;
    if !applets.iter().any(|a| a == "bin/sh") {
        return Err(format!("{} has no `sh` applet", busybox.display()).into());
    }
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, uid: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_size(0);
        h.set_mtime(0);
        b.append_data(&mut h, path, std::io::empty())
    };
    for d in [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "var", "home",
        "static",
    ] {
        dir(&mut b, d, 0o755, 0)?;
    }
    dir(&mut b, "root", 0o700, 0)?;
    dir(&mut b, "tmp", 0o1777, 0)?;
    dir(&mut b, "var/tmp", 0o1777, 0)?;
    dir(&mut b, "home/subrun", 0o755, 1000)?;
    dir(&mut b, "workspace", 0o755, 1000)?;
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, path, data)
    };
    file(&mut b, "bin/busybox", 0o755, &binary)?;
    file(
        &mut b,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nsubrun:x:1000:1000:subrun:/home/subrun:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    file(
        &mut b,
        "etc/group",
        0o644,
        b"root:x:0:\nsubrun:x:1000:\nnogroup:x:65534:\n",
    )?;
    for applet in &applets {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(0);
        b.append_link(&mut h, applet, "/bin/busybox")?;
    }
    Ok(b.into_inner()?)
}
