//! A container opens only the devices box gives it (src/devices.rs).
//!
//! The attack: root inside makes a node for a host disk and reads it. The
//! disk here is a loop device over a file holding a marker; each test
//! checks the marker is readable on the host first, so that a refusal
//! inside means something. Refused without any cgroup (no CAP_MKNOD, every
//! mount but /dev nodev), with a cgroup v1 devices group (`--memory` on
//! this hybrid host) and with a cgroup v2 device program (a container
//! whose only reason for a cgroup is its devices, on the host's unified
//! hierarchy); the guest case 56-devices checks cgroup v2 on a v2 host.
//! `--device` hands over exactly one device, with its permissions, and
//! `box exec` is held to the same rules.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A loop device over a file whose second 4 KiB block holds a marker;
/// detached (and the file removed) on drop.
struct LoopDevice {
    device: PathBuf,
    major: u32,
    minor: u32,
    marker: String,
    _dir: TempDir,
}

impl LoopDevice {
    fn new(test: &str, tag: &str) -> Option<LoopDevice> {
        let dir = TempDir::new(&format!("{test}-{tag}"));
        let image = dir.path().join("disk.img");
        let marker = format!("SECRET-{tag}-{}", std::process::id());
        let mut bytes = vec![0u8; 1 << 20];
        bytes[4096..4096 + marker.len()].copy_from_slice(marker.as_bytes());
        std::fs::write(&image, &bytes).unwrap();
        let out = match Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .output()
        {
            Ok(out) if out.status.success() => out,
            Ok(out) => {
                skip(
                    test,
                    &format!(
                        "losetup failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                );
                return None;
            }
            Err(e) => {
                skip(test, &format!("needs losetup (util-linux): {e}"));
                return None;
            }
        };
        let device = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        use std::os::unix::fs::MetadataExt;
        let rdev = std::fs::metadata(&device).unwrap().rdev();
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        let disk = LoopDevice {
            device,
            major,
            minor,
            marker,
            _dir: dir,
        };
        // The attack is real: on the host, the device gives the marker away.
        let host = std::fs::read(&disk.device).unwrap();
        assert!(
            host.windows(disk.marker.len())
                .any(|w| w == disk.marker.as_bytes()),
            "{} does not hold its marker",
            disk.path()
        );
        Some(disk)
    }

    fn path(&self) -> &str {
        self.device.to_str().unwrap()
    }

    /// `mknod PATH b MAJOR MINOR`, for a script inside.
    fn mknod(&self, path: &str) -> String {
        format!("mknod {path} b {} {}", self.major, self.minor)
    }

    /// `grep` for the marker in PATH, printing it when found.
    fn grep(&self, path: &str) -> String {
        format!("grep -ao {} {path}", self.marker)
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.device).status();
    }
}

/// `rwxr-x---` for a path's mode, as ls shows it.
fn permissions(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mode = std::fs::metadata(path).unwrap().mode();
    (0..9)
        .map(|i| {
            if mode & (0o400 >> i) == 0 {
                '-'
            } else {
                ['r', 'w', 'x'][i % 3]
            }
        })
        .collect()
}

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    Some(busybox_rootfs(test))
}

/// `box run --rootfs ROOT EXTRA… sh -c SCRIPT`.
fn in_container(root: &TempDir, extra: &[&str], script: &str) -> Run {
    let mut args = vec!["run", "--rootfs", root.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["sh", "-c", script]);
    run_box(&args)
}

/// Whether the host has a cgroup v1 devices hierarchy (this hybrid host
/// does; a pure v2 host, as in the guests, does not).
fn have_v1_devices() -> bool {
    Path::new("/sys/fs/cgroup/devices/devices.deny").exists()
}

/// The attack of the issue, at two places: /tmp on the rootfs, and /dev
/// (box's tmpfs, the one mount of the container that is not nodev).
fn attack(disk: &LoopDevice) -> String {
    format!(
        "mknod /dev/null2 c 1 3 && echo MKNOD-ALLOWED; {}; {}; {}; {}; echo done",
        disk.mknod("/tmp/d"),
        disk.grep("/tmp/d"),
        disk.mknod("/dev/d"),
        disk.grep("/dev/d")
    )
}

fn assert_not_read(what: &str, run: &Run, disk: &LoopDevice) {
    eprintln!(
        "devices: {what}: {}",
        run.stderr.trim().replace('\n', " | ")
    );
    assert_eq!(run.code(), 0, "{what}: {run:?}");
    assert!(run.stdout.contains("done"), "{what}: {run:?}");
    assert!(
        !run.stdout.contains(&disk.marker),
        "{what}: the container read the host's disk\n{run:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn a_default_container_cannot_make_a_node_for_a_host_disk() {
    let test = "a_default_container_cannot_make_a_node_for_a_host_disk";
    let Some(root) = setup(test) else { return };
    let Some(disk) = LoopDevice::new(test, "default") else {
        return;
    };
    // No cgroup: CAP_MKNOD is not in the default set.
    let run = in_container(&root, &[], &attack(&disk));
    assert_not_read("no limits", &run, &disk);
    assert!(!run.stdout.contains("MKNOD-ALLOWED"), "{run:?}");
    assert!(
        run.stderr.contains("Operation not permitted"),
        "mknod was not refused: {run:?}"
    );
    // With limits: a cgroup, and on v1 a devices group too.
    let run = in_container(&root, &["--memory", "64M"], &attack(&disk));
    assert_not_read("--memory 64M", &run, &disk);
}

#[test]
#[ignore = "needs root"]
fn with_cap_mknod_the_device_cgroup_refuses() {
    let test = "with_cap_mknod_the_device_cgroup_refuses";
    let Some(root) = setup(test) else { return };
    let Some(disk) = LoopDevice::new(test, "mknod") else {
        return;
    };
    // The nodes are refused by the device rules alone: the container has
    // CAP_MKNOD. First on cgroup v1 (the limits are v1 on this host).
    if have_v1_devices() {
        let script = format!("{}; cat /proc/self/cgroup", attack(&disk));
        let run = in_container(&root, &["--memory", "64M", "--cap-add", "mknod"], &script);
        assert_not_read("v1 devices group", &run, &disk);
        // The capability is there: a node of an allowed device is made.
        assert!(run.stdout.contains("MKNOD-ALLOWED"), "{run:?}");
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(":devices:") && l.contains("/box/")),
            "not in a devices group of box's: {run:?}"
        );
    } else {
        skip(test, "no cgroup v1 devices hierarchy here: v1 not checked");
    }
    // Without limits: a cgroup for the rules alone (v2 where cgroup2 is
    // mounted, v1's devices hierarchy otherwise).
    let run = in_container(&root, &["--cap-add", "mknod"], &attack(&disk));
    assert_not_read("--cap-add mknod alone", &run, &disk);
    assert!(run.stdout.contains("MKNOD-ALLOWED"), "{run:?}");
    // --cap-add all includes mknod.
    let run = in_container(&root, &["--cap-add", "all"], &attack(&disk));
    assert_not_read("--cap-add all", &run, &disk);
    assert!(run.stdout.contains("MKNOD-ALLOWED"), "{run:?}");
}

/// CAP_SYS_ADMIN gets around nodev and the missing CAP_MKNOD at once: a
/// devtmpfs holds a node of every device, the host's disks included, and a
/// remount can drop nodev. Such a container gets the device rules too.
#[test]
#[ignore = "needs root"]
fn with_cap_sys_admin_a_devtmpfs_opens_nothing() {
    let test = "with_cap_sys_admin_a_devtmpfs_opens_nothing";
    let Some(root) = setup(test) else { return };
    let Some(disk) = LoopDevice::new(test, "devtmpfs") else {
        return;
    };
    let name = disk
        .device
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let script = format!(
        "mkdir -p /tmp/m && mount -t devtmpfs none /tmp/m && echo MOUNTED; \
         {grep}; mount -o remount,dev /tmp/m; {grep}; echo done",
        grep = disk.grep(&format!("/tmp/m/{name}")),
    );
    let run = in_container(&root, &["--cap-add", "sys_admin"], &script);
    assert_not_read("--cap-add sys_admin", &run, &disk);
    // The mount itself is allowed: the rules, not the filter, refuse.
    assert!(run.stdout.contains("MOUNTED"), "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn image_nodes_and_host_dev_binds_do_not_open() {
    let test = "image_nodes_and_host_dev_binds_do_not_open";
    let Some(root) = setup(test) else { return };
    let Some(disk) = LoopDevice::new(test, "image") else {
        return;
    };
    // A node shipped in the image, and one in a host directory inside the
    // rootfs (a mount that comes with the recursive bind of the rootfs).
    let status = Command::new("mknod")
        .arg(root.path().join("disk"))
        .args(["b", &disk.major.to_string(), &disk.minor.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let script = format!(
        "{}; {}; {}; echo done",
        disk.grep("/disk"),
        disk.grep(&format!(
            "/hostdev/{}",
            disk.device.file_name().unwrap().to_str().unwrap()
        )),
        disk.grep(&format!(
            "/hostdev-ro/{}",
            disk.device.file_name().unwrap().to_str().unwrap()
        )),
    );
    for extra in [&[][..], &["--memory", "64M"], &["--read-only"]] {
        let mut args = extra.to_vec();
        args.extend_from_slice(&["--bind", "/dev:/hostdev", "--bind", "/dev:/hostdev-ro:ro"]);
        let run = in_container(&root, &args, &script);
        assert_not_read(&format!("{extra:?}"), &run, &disk);
        assert_eq!(
            run.stderr.matches("Permission denied").count(),
            3,
            "{extra:?}: not refused by nodev: {run:?}"
        );
    }
    // A hard link of the image's node into /dev, the one mount where
    // nodes open, crosses mounts: refused.
    let run = in_container(
        &root,
        &[],
        &format!("ln /disk /dev/disk; {}; echo done", disk.grep("/dev/disk")),
    );
    assert_not_read("hard link into /dev", &run, &disk);
}

#[test]
#[ignore = "needs root"]
fn device_hands_over_that_device_only() {
    let test = "device_hands_over_that_device_only";
    let Some(root) = setup(test) else { return };
    let (Some(given), Some(other)) = (
        LoopDevice::new(test, "given"),
        LoopDevice::new(test, "other"),
    ) else {
        return;
    };
    let given_path = given.path().to_string();
    // A node of the other device (m only): made by box, it must not open.
    let other_node = format!("{}:/dev/other:m", other.path());
    let read_only = format!("{}:/dev/given-ro:r", given.path());
    let script = format!(
        "ls -ln {given} /dev/other; {}; {}; echo done",
        given.grep(&given_path),
        other.grep("/dev/other"),
        given = given_path,
    );
    let read_only_script = format!(
        "{}; echo x > /dev/given-ro; chmod 666 /dev/given-ro; echo done",
        given.grep("/dev/given-ro"),
    );
    // cgroup v2 (a container with a cgroup only for its devices) and, on
    // this host, v1 (with a memory limit).
    let mut cases: Vec<(&str, Vec<&str>)> = vec![("v2 program", vec![])];
    if have_v1_devices() {
        cases.push(("v1 devices group", vec!["--memory", "64M"]));
    }
    for (what, limits) in cases {
        let mut args = limits.clone();
        args.extend_from_slice(&["--device", &given_path, "--device", &other_node]);
        let run = in_container(&root, &args, &script);
        eprintln!(
            "devices: {what}: {}",
            run.stderr.trim().replace('\n', " | ")
        );
        assert_eq!(run.code(), 0, "{what}: {run:?}");
        // The device given is readable, at its own path, with the host's
        // type, numbers and mode.
        assert!(
            run.stdout.contains(&given.marker),
            "{what}: the given device is not readable: {run:?}"
        );
        let numbers = format!("{},{:>4}", given.major, given.minor);
        let mode = format!("b{}", permissions(&given.device));
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&mode) && l.contains(&numbers) && l.ends_with(&given_path)),
            "{what}: not the host's node ({mode} {numbers}): {run:?}"
        );
        // The other device has a node that does not open.
        assert!(run.stdout.contains("/dev/other"), "{what}: {run:?}");
        assert!(
            !run.stdout.contains(&other.marker),
            "{what}: the other device was read: {run:?}"
        );
        assert!(
            run.stderr.contains("/dev/other: Operation not permitted"),
            "{what}: {run:?}"
        );

        // Given r only: read, but neither written nor its node changed.
        let mut args = limits.clone();
        args.extend_from_slice(&["--device", &read_only]);
        let run = in_container(&root, &args, &read_only_script);
        eprintln!(
            "devices: {what}, r: {}",
            run.stderr.trim().replace('\n', " | ")
        );
        assert_eq!(run.code(), 0, "{what}: {run:?}");
        assert!(run.stdout.contains(&given.marker), "{what}: {run:?}");
        assert!(
            run.stderr
                .contains("can't create /dev/given-ro: Operation not permitted"),
            "{what}: writing a device given r: {run:?}"
        );
        assert!(
            run.stderr.contains("Read-only file system"),
            "{what}: chmod of the host's node: {run:?}"
        );
    }
    // Nothing was written to the device, nor its node changed.
    let host = std::fs::read(&given.device).unwrap();
    assert!(host[..4096].iter().all(|&b| b == 0), "the disk was written");
    assert_ne!(permissions(&given.device), "rw-rw-rw-");
}

#[test]
#[ignore = "needs root"]
fn device_that_is_not_a_node_is_refused() {
    let test = "device_that_is_not_a_node_is_refused";
    let Some(root) = setup(test) else { return };
    let file = root.path().join("etc/passwd");
    let file = file.to_str().unwrap();
    for (device, says) in [
        (format!("{file}:/dev/x"), "not a device node"),
        ("/etc:/dev/x".to_string(), "not a device node"),
        (
            "/dev/box-no-such-device".to_string(),
            "No such file or directory",
        ),
        ("/dev/null:/tmp/null".to_string(), "INSIDE under /dev"),
        (
            "/dev/null:rx".to_string(),
            "use HOST[:INSIDE][:PERMISSIONS]",
        ),
    ] {
        let run = in_container(&root, &["--device", &device], "echo ran");
        assert_eq!(run.code(), 125, "--device {device}: {run:?}");
        assert!(!run.stdout.contains("ran"), "{run:?}");
        let line = one_error_line(&run);
        assert!(line.contains(says), "--device {device}: {line}");
    }
}

/// A `--device` node whose path inside crosses a /proc magic link
/// (/dev/fd is a link to /proc/self/fd): refused, made by mknod or bound,
/// with the reason every other mount point gives.
#[test]
#[ignore = "needs root"]
fn device_through_a_magic_link_is_refused_with_the_reason() {
    let test = "device_through_a_magic_link_is_refused_with_the_reason";
    let Some(root) = setup(test) else { return };
    for device in ["/dev/null:/dev/fd/0/x:rwm", "/dev/null:/dev/fd/0/x:rw"] {
        let run = in_container(&root, &["--device", device], "echo ran");
        assert_eq!(run.code(), 125, "--device {device}: {run:?}");
        let line = one_error_line(&run);
        assert!(line.contains("magic link"), "--device {device}: {line}");
    }
}

#[test]
#[ignore = "needs root"]
fn box_exec_is_held_to_the_same_rules() {
    let test = "box_exec_is_held_to_the_same_rules";
    let Some(root) = setup(test) else { return };
    let Some(disk) = LoopDevice::new(test, "exec") else {
        return;
    };
    let prefix = format!("dev-exec-{}", std::process::id());
    let _sweep = ContainerSweep::new(&prefix);
    let r = root.path().to_str().unwrap();
    // Without a cgroup (the init has no CAP_MKNOD, and neither has what
    // box exec runs); with CAP_MKNOD and a cgroup v2 program; with v1.
    let mut cases: Vec<(&str, Vec<&str>)> = vec![
        ("no cgroup", vec![]),
        ("v2 program", vec!["--cap-add", "mknod"]),
    ];
    if have_v1_devices() {
        cases.push((
            "v1 devices group",
            vec!["--cap-add", "mknod", "--memory", "64M"],
        ));
    }
    for (i, (what, extra)) in cases.into_iter().enumerate() {
        let name = format!("{prefix}-{i}");
        let mut args = vec!["run", "-d", "--name", &name, "--rootfs", r];
        args.extend_from_slice(&extra);
        args.extend_from_slice(&["sh", "-c", "while :; do sleep 1; done"]);
        let run = run_box(&args);
        assert_eq!(run.code(), 0, "{what}: {run:?}");
        let start = Instant::now();
        let exec = loop {
            let exec = run_box(["exec", &name, "sh", "-c", &attack(&disk)]);
            if exec.code() != 125 || start.elapsed() > Duration::from_secs(10) {
                break exec;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_not_read(&format!("box exec, {what}"), &exec, &disk);
        let stop = run_box(["stop", "--time", "0", &name]);
        assert_eq!(stop.code(), 0, "{stop:?}");
    }
}
