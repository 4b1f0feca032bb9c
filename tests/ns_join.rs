//! `box run --ns TYPE=PATH`: the container joins an existing namespace
//! instead of making one (src/container/plan.rs opens the files, child.rs
//! joins them). Each test makes the namespace to join with the host's own
//! tools (`ip netns`, util-linux `unshare`) and removes it after.

mod common;

use common::*;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    for tool in ["ip", "unshare"] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            skip(test, &format!("needs {tool} on PATH"));
            return None;
        }
    }
    Some(busybox_rootfs(test))
}

fn rootfs_arg(root: &TempDir) -> String {
    root.path().to_str().unwrap().to_string()
}

/// A network namespace made by `ip netns add`, deleted when dropped.
struct NetNs(String);

impl NetNs {
    fn add(test: &str) -> NetNs {
        let name = format!("box-{test}-{}", std::process::id());
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(status.success(), "ip netns add {name}");
        NetNs(name)
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

/// A process of util-linux's `unshare ARGS… sleep 60`, killed when dropped.
struct Holder(Child);

impl Holder {
    /// Start `unshare ARGS -- sh -c 'SETUP; exec sleep 60'` and wait until
    /// the sleep runs (it is the unshare process itself, or with `--fork`
    /// its child).
    fn start(args: &[&str], setup: &str) -> Holder {
        let child = Command::new("unshare")
            .args(args)
            .args(["--", "/bin/sh", "-c"])
            .arg(format!("{setup}\nexec sleep 60"))
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare");
        let holder = Holder(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while holder.sleeper().is_none() {
            assert!(Instant::now() < deadline, "unshare {args:?} did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        holder
    }

    /// The PID of the sleep: the unshare process, or its only child.
    fn sleeper(&self) -> Option<u32> {
        let pid = self.0.id();
        let is_sleep = |p: u32| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "sleep")
        };
        if is_sleep(pid) {
            return Some(pid);
        }
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        children
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .find(|&c| is_sleep(c))
    }

    /// /proc/PID/ns/NAME of the sleep.
    fn ns(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.sleeper().unwrap())
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if let Some(pid) = self.sleeper() {
            // SAFETY: kill has no memory preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `box run --rootfs ROOT [OPTIONS…] --ns NS -- sh -c SCRIPT`.
fn run_joined(root: &TempDir, options: &[&str], ns: &str, script: &str) -> Run {
    let rootfs = rootfs_arg(root);
    let mut args = vec!["run", "--rootfs", &rootfs];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--ns", ns, "--", "sh", "-c", script]);
    run_box(&args)
}

/// `TYPE:[INODE]` of a namespace file, as readlink of /proc/self/ns shows
/// it inside.
fn link_of(kind: &str, path: &str) -> String {
    format!("{kind}:[{}]", std::fs::metadata(path).unwrap().ino())
}

#[test]
#[ignore = "needs root"]
fn joins_a_network_namespace_of_ip_netns_as_it_is() {
    let test = "joins_a_network_namespace_of_ip_netns_as_it_is";
    let Some(root) = setup(test) else { return };
    let netns = NetNs::add("net");
    let run = run_joined(
        &root,
        &[],
        &format!("net={}", netns.path()),
        "readlink /proc/self/ns/net; ip link",
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(link_of("net", &netns.path()).as_str()),
        "{run:?}"
    );
    // Only the namespace's own loopback, and box left it as it was: down
    // (a new namespace of box's own gets it up).
    let links: Vec<&str> = lines.filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(links.len(), 1, "{run:?}");
    assert!(links[0].contains("lo: <LOOPBACK>"), "{run:?}");
    // The rest of the default set is still made: the PID namespace too.
    let run = run_joined(&root, &[], &format!("net={}", netns.path()), "echo $$");
    assert_eq!(run.stdout.trim(), "1", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn a_spec_file_joins_with_the_same_key() {
    let test = "a_spec_file_joins_with_the_same_key";
    let Some(root) = setup(test) else { return };
    let netns = NetNs::add("spec");
    let dir = TempDir::new("ns-join-spec");
    let spec = dir.path().join("web.box");
    std::fs::write(
        &spec,
        format!(
            "rootfs {}\nns mount,pid,net={}\ncmd readlink /proc/self/ns/net\n",
            rootfs_arg(&root),
            netns.path()
        ),
    )
    .unwrap();
    let run = run_box(["run", "--file", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout.trim(), link_of("net", &netns.path()), "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn joins_a_uts_and_an_ipc_namespace() {
    let test = "joins_a_uts_and_an_ipc_namespace";
    let Some(root) = setup(test) else { return };
    let holder = Holder::start(&["--uts", "--ipc"], "hostname joined-uts");
    let (uts, ipc) = (holder.ns("uts"), holder.ns("ipc"));
    let run = run_joined(
        &root,
        &[],
        &format!("uts={uts},ipc={ipc}"),
        "hostname; readlink /proc/self/ns/ipc; grep -c HOSTNAME= /proc/1/environ; true",
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!("joined-uts\n{}\n0\n", link_of("ipc", &ipc)),
        "{run:?}"
    );
    // Its hostname is the namespace's, unless one is given: that is set
    // there, for every process in it, as runc does.
    let run = run_joined(
        &root,
        &["--hostname", "other"],
        &format!("uts={uts}"),
        "hostname",
    );
    assert_eq!(run.stdout, "other\n", "{run:?}");
    let run = run_joined(&root, &[], &format!("uts={uts}"), "hostname");
    assert_eq!(run.stdout, "other\n", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn joins_a_pid_namespace_beside_its_processes() {
    let test = "joins_a_pid_namespace_beside_its_processes";
    let Some(root) = setup(test) else { return };
    let holder = Holder::start(&["--pid", "--fork"], "");
    let pid_ns = holder.ns("pid");
    let run = run_joined(
        &root,
        &[],
        &format!("pid={pid_ns}"),
        "echo $$; readlink /proc/self/ns/pid; ps -o pid,comm",
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines = run.stdout.lines();
    let own: u32 = lines.next().unwrap().parse().unwrap();
    assert_ne!(own, 1, "the namespace has its init already: {run:?}");
    assert_eq!(
        lines.next(),
        Some(link_of("pid", &pid_ns).as_str()),
        "{run:?}"
    );
    // Its /proc is that namespace's: the sleep is PID 1 there.
    assert!(
        lines.any(|l| l.split_whitespace().eq(["1", "sleep"])),
        "{run:?}"
    );
    // With --init, box-init is not PID 1 there: a subreaper, it still
    // reaps the command's orphans (no zombie left, and no warning).
    add_box_libraries(root.path());
    let ns = format!("pid={pid_ns}");
    let script = "(sleep 0.1 &); sleep 0.5; ps -o stat,comm | grep -c ^Z";
    let run = run_joined(&root, &["--init"], &ns, script);
    assert_eq!(
        (run.stdout.trim(), run.stderr.as_str()),
        ("0", ""),
        "{run:?}"
    );
    // box went back to its own namespace for its later children: the
    // next container, without the option, is PID 1 of a new one.
    let again = run_box(["run", "--rootfs", &rootfs_arg(&root), "sh", "-c", "echo $$"]);
    assert_eq!(again.stdout.trim(), "1", "{again:?}");
}

#[test]
#[ignore = "needs root"]
fn joins_a_user_namespace_with_no_more_than_the_default() {
    let test = "joins_a_user_namespace_with_no_more_than_the_default";
    let Some(root) = setup(test) else { return };
    let holder = Holder::start(&["--user", "--map-root-user"], "");
    let user = holder.ns("user");
    let script = "echo $$; readlink /proc/self/ns/user; id -u; \
                  grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp|Groups):' /proc/self/status";
    let joined = run_joined(&root, &[], &format!("user={user}"), script);
    assert_eq!(joined.code(), 0, "{joined:?}");
    let mut lines = joined.stdout.lines();
    // Its own PID namespace, made inside the joined user namespace.
    assert_eq!(lines.next(), Some("1"), "{joined:?}");
    assert_eq!(
        lines.next(),
        Some(link_of("user", &user).as_str()),
        "{joined:?}"
    );
    assert_eq!(lines.next(), Some("0"), "{joined:?}");
    let status: Vec<&str> = lines.collect();
    // The same capabilities, no_new_privs and seccomp filter as a
    // container of box's usual kind, and no supplementary group.
    let plain = run_box(["run", "--rootfs", &rootfs_arg(&root), "sh", "-c", script]);
    let plain_status: Vec<&str> = plain.stdout.lines().skip(3).collect();
    assert_eq!(status, plain_status, "{joined:?}\n{plain:?}");
    assert!(status.contains(&"NoNewPrivs:\t1"), "{joined:?}");
    assert!(status.contains(&"Seccomp:\t2"), "{joined:?}");
    assert!(
        status
            .iter()
            .any(|l| l.starts_with("Groups:") && l[7..].trim().is_empty()),
        "{joined:?}"
    );
    // A new user namespace besides is refused.
    let run = run_joined(&root, &["--map-root"], &format!("user={user}"), "true");
    assert_eq!(run.code(), 125, "{run:?}");
    one_error_line(&run);
}

#[test]
#[ignore = "needs root"]
fn bad_paths_are_refused_in_one_line_leaving_nothing() {
    let test = "bad_paths_are_refused_in_one_line_leaving_nothing";
    let Some(root) = setup(test) else { return };
    let netns = NetNs::add("bad");
    let cases = [
        (
            format!("uts={}", netns.path()),
            "not a UTS namespace (NS_GET_NSTYPE says net)",
        ),
        (
            "net=/run/netns/box-no-such-ns".to_string(),
            "open(/run/netns/box-no-such-ns): No such file or directory",
        ),
        ("net=/etc/passwd".to_string(), "not a namespace file"),
        (
            "mount=/proc/1/ns/mnt".to_string(),
            "a mount namespace cannot be joined",
        ),
        (
            format!("mount,net,net={}", netns.path()),
            "net is both made and joined",
        ),
    ];
    for (value, expected) in cases {
        let options = ["--name", "box-ns-join-bad", "--memory", "64M"];
        let run = run_joined(&root, &options, &value, "true");
        assert_refused(&run, expected, &format!("--ns {value}"));
    }
    // --net and a joined network namespace at once (--net after --ns: a
    // later --ns would replace what --net asked).
    let ns = format!("net={}", netns.path());
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--ns",
        &ns,
        "--net",
        "true",
    ]);
    assert_refused(
        &run,
        "a new net namespace is asked for too",
        "--ns net=… --net",
    );
    // (Not the whole mount table: the other tests' `ip netns add` mount.)
    assert!(mounts_mentioning(&[root.path()]).is_empty());
    assert!(state_dirs_with_prefix("box-ns-join-bad").is_empty());
    assert!(cgroup_dirs_with_prefix("box-ns-join-bad").is_empty());
}

/// `nsenter -N FD` (util-linux 2.41): the network namespace of the socket
/// on FD, made here in a thread that joined an `ip netns` namespace (setns
/// moves only the calling thread), handed to nsenter on descriptor 3.
#[test]
#[ignore = "needs root"]
fn nsenter_enters_the_network_namespace_of_a_socket() {
    let test = "nsenter_enters_the_network_namespace_of_a_socket";
    if setup(test).is_none() {
        return;
    }
    let netns = NetNs::add("sock");
    let path = netns.path();
    let socket = std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a descriptor this thread holds open.
        let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns {path}");
        std::net::UdpSocket::bind("0.0.0.0:0").unwrap()
    })
    .join()
    .unwrap();
    let nsenter = |args: &[&str]| {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let fd = socket.as_raw_fd();
        let mut command = Command::new(BOX);
        command.arg("nsenter").args(args);
        // SAFETY: dup2 only, between fork and exec.
        unsafe {
            command.pre_exec(move || match libc::dup2(fd, 3) {
                -1 => Err(std::io::Error::last_os_error()),
                _ => Ok(()),
            });
        }
        run_command(&mut command)
    };
    let run = nsenter(&["-N", "3", "readlink", "/proc/self/ns/net"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout.trim(), link_of("net", &netns.path()), "{run:?}");
    let run = nsenter(&["--net-socket=3", "--", "readlink", "/proc/self/ns/net"]);
    assert_eq!(run.stdout.trim(), link_of("net", &netns.path()), "{run:?}");
    // Not a socket, no such descriptor, and with --net: util-linux's exit
    // status 1, one line.
    for (args, expected) in [
        (&["-N", "0", "true"][..], "is not a socket"),
        (&["-N", "99", "true"][..], "Bad file descriptor"),
        (
            &["-N", "3", "--net=/proc/self/ns/net", "true"][..],
            "give one or the other",
        ),
    ] {
        let run = nsenter(args);
        assert_eq!(run.code(), 1, "{args:?}: {run:?}");
        assert!(one_error_line(&run).contains(expected), "{args:?}: {run:?}");
    }
}

/// Failures after the files are open leave nothing either: a PID
/// namespace whose init has exited (kept by a bind mount of `unshare
/// --pid=FILE`) refuses the clone, and a container whose init box forked
/// into a joined user namespace fails in its set-up (a missing workdir).
#[test]
#[ignore = "needs root"]
fn failures_after_the_join_leave_nothing() {
    let test = "failures_after_the_join_leave_nothing";
    let Some(root) = setup(test) else { return };
    let name = format!("box-nsj-late-{}", std::process::id());
    let options = ["--name", name.as_str(), "--memory", "32M"];

    // unshare binds the namespace onto FILE, which must not be on a shared
    // mount: a private bind of the directory of its own.
    let dir = TempDir::new("ns-join-dead-pid");
    let d = dir.path().to_str().unwrap();
    for args in [vec!["--bind", d, d], vec!["--make-private", d]] {
        assert!(
            Command::new("mount")
                .args(&args)
                .status()
                .unwrap()
                .success()
        );
    }
    let file = dir.path().join("pid");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap().to_string();
    let made = Command::new("unshare")
        .arg(format!("--pid={file}"))
        .args(["--fork", "true"])
        .status()
        .unwrap();
    assert!(made.success(), "unshare --pid={file}");
    let run = run_joined(&root, &options, &format!("pid={file}"), "true");
    let _ = Command::new("umount").arg(&file).status();
    let _ = Command::new("umount").arg(d).status();
    assert_refused(&run, "lost its PID 1", "--ns pid=FILE");
    assert_nothing_left(&name, root.path());

    let holder = Holder::start(&["--user", "--map-root-user"], "");
    let mut options = options.to_vec();
    options.extend_from_slice(&["--workdir", "/no-such-dir"]);
    let run = run_joined(
        &root,
        &options,
        &format!("user={}", holder.ns("user")),
        "true",
    );
    assert_refused(&run, "chdir(/no-such-dir)", "--workdir /no-such-dir");
    assert_nothing_left(&name, root.path());
}
