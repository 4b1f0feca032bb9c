//! Where the cgroup hierarchies are, where box sits in them, and which
//! version a container's group goes in. The decisions are functions of
//! the text the kernel gives (/proc/self/mountinfo, /proc/self/cgroup,
//! cgroup.controllers), so each kind of host is tested on its text;
//! reading that text is left to [`Hierarchies::find`],
//! [`Hierarchies::v2_controllers`] and [`OwnCgroups::read`].

use core::fmt;

use rustix::io::Errno;

use super::{Controller, Version, has_word, join, no_device_cgroup};
use crate::bad;
use crate::error::Error;
use crate::mountinfo::MountEntry;
use crate::text::{CPath, Text};

/// The cgroup mounts.
pub struct Hierarchies {
    /// cgroup2 mount point, if any.
    pub v2: Option<CPath>,
    /// (controller, mount point) for cgroup v1 hierarchies.
    pub v1: heapless::Vec<(Controller, CPath), 6>,
}

impl Hierarchies {
    fn new() -> Hierarchies {
        Hierarchies {
            v2: None,
            v1: heapless::Vec::new(),
        }
    }

    /// The hierarchies of this process's mount table (none where it cannot
    /// be read).
    pub fn find() -> Hierarchies {
        let mut found = Hierarchies::new();
        crate::mountinfo::each_own_mount(&mut |entry| found.add(entry));
        found
    }

    /// The hierarchies of the mount table `mountinfo`.
    #[cfg(test)]
    fn parse(mountinfo: &[u8]) -> Hierarchies {
        let mut found = Hierarchies::new();
        for line in mountinfo.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            found.add(&MountEntry::parse(line).unwrap());
        }
        found
    }

    /// Take in one mount: the first cgroup2 one, and for each controller
    /// the first v1 hierarchy holding it.
    fn add(&mut self, entry: &MountEntry<'_>) {
        let Some(point) = entry.mount_point.to_cpath() else {
            return;
        };
        if entry.fstype.is(b"cgroup2") && self.v2.is_none() {
            self.v2 = Some(point);
        } else if entry.fstype.is(b"cgroup") {
            // The controllers of a v1 hierarchy are among its superblock
            // options (`rw,memory`).
            for c in Controller::ALL {
                let has = entry
                    .super_options
                    .split(|&b| b == b',')
                    .any(|o| o == c.name().as_bytes());
                if has && self.v1_mount(c).is_none() {
                    let _ = self.v1.push((c, point));
                }
            }
        }
    }

    pub fn v1_mount(&self, c: Controller) -> Option<&CPath> {
        self.v1.iter().find(|(have, _)| *have == c).map(|(_, p)| p)
    }

    /// The controllers cgroup2 offers (its root's cgroup.controllers),
    /// where it is mounted.
    pub fn v2_controllers(&self) -> Option<Text<256>> {
        self.v2.as_ref().map(|mount| {
            let mut buf = [0u8; 256];
            let n = join(mount.as_bytes(), b"cgroup.controllers")
                .ok()
                .and_then(|p| crate::sys::fs::read_into(p.as_cstr(), &mut buf).ok())
                .unwrap_or(0);
            Text::from_bytes_lossy(&buf[..n])
        })
    }
}

/// box's own cgroups: the text of /proc/self/cgroup, read once.
pub struct OwnCgroups {
    text: [u8; 2048],
    len: usize,
}

impl OwnCgroups {
    pub fn read() -> OwnCgroups {
        let mut own = OwnCgroups {
            text: [0; 2048],
            len: 0,
        };
        own.len = crate::sys::fs::read_into(c"/proc/self/cgroup", &mut own.text).unwrap_or(0);
        own
    }

    /// box's path in the v2 hierarchy (`None`), or in the v1 hierarchy
    /// holding `controller`.
    pub fn path(&self, controller: Option<Controller>) -> CPath {
        own_path(&self.text[..self.len], controller)
    }
}

/// The path of the `0::PATH` line of a /proc/PID/cgroup text (`None`), or
/// of the `N:a,b:PATH` line whose hierarchy holds `controller`; `/` where
/// there is none.
fn own_path(text: &[u8], controller: Option<Controller>) -> CPath {
    for line in text.split(|&b| b == b'\n') {
        let mut parts = line.splitn(3, |&b| b == b':');
        let (Some(id), Some(names), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let matches = match controller {
            None => id == b"0" && names.is_empty(),
            Some(c) => names
                .split(|&b| b == b',')
                .any(|n| n == c.name().as_bytes()),
        };
        if matches {
            return CPath::from_bytes(path).unwrap_or_default();
        }
    }
    CPath::from_bytes(b"/").unwrap_or_default()
}

/// Why a container cannot have the cgroup it needs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Refusal {
    /// Neither version offers this controller.
    NoController(Controller),
    /// `--ns cgroup` without limits, and no cgroup2.
    NoCgroup2ForNamespace,
    /// Only device rules, and neither cgroup2 nor a v1 devices hierarchy.
    NoDeviceCgroup,
    /// Each controller is somewhere, but not all in one version.
    SplitVersions,
}

impl Refusal {
    /// The error line; `asked_by` names the option that wants devices.
    pub fn error(self, asked_by: &str) -> Error {
        match self {
            Refusal::NoController(c) => bad!(
                "{}: the kernel offers no {} controller: neither cgroup v2 (cgroup.controllers) nor a v1 hierarchy has it (kernel option {})",
                c.option(),
                c.name(),
                c.config()
            ),
            Refusal::NoCgroup2ForNamespace => bad!("--ns cgroup: no cgroup2 hierarchy is mounted"),
            Refusal::NoDeviceCgroup => no_device_cgroup(asked_by),
            Refusal::SplitVersions => bad!(
                "the limits need controllers split between cgroup v1 and v2 on this host; box uses one version per container"
            ),
        }
    }
}

/// The version a container's group goes in: v2 where cgroup2 offers every
/// controller it needs (or it needs none: a cgroup namespace or device
/// rules alone), else v1 where the v1 hierarchies have them all (or only
/// device rules are wanted and v1 has a devices hierarchy). One version
/// per container. `v2_controllers` is cgroup2's cgroup.controllers, where
/// cgroup2 is mounted. An OCI container's group (`always`, made with or
/// without limits) without limits or a cgroup namespace goes to v1 on a
/// host that has v1 hierarchies: there the engines look for it, and the v1
/// freezer pauses it.
pub fn decide(
    found: &Hierarchies,
    v2_controllers: Option<&[u8]>,
    needed: &[Controller],
    cgroup_ns: bool,
    always: bool,
) -> Result<Version, Refusal> {
    let in_v2 = |c: &Controller| v2_controllers.is_some_and(|a| has_word(a, c.name().as_bytes()));
    let in_v1 = |c: &Controller| found.v1_mount(*c).is_some();
    if always && needed.is_empty() && !cgroup_ns && !found.v1.is_empty() {
        return Ok(Version::V1);
    }
    if found.v2.is_some() && v2_controllers.is_some() && needed.iter().all(in_v2) {
        return Ok(Version::V2);
    }
    let v1_has_all = !found.v1.is_empty() && needed.iter().all(in_v1);
    // A container that has a cgroup only for its device rules, where
    // cgroup2 is not mounted: a group in the v1 devices hierarchy.
    let v1_devices_only = needed.is_empty() && !cgroup_ns && in_v1(&Controller::Devices);
    if (v1_has_all && !needed.is_empty()) || v1_devices_only {
        return Ok(Version::V1);
    }
    Err(
        match needed.iter().find(|c| !in_v2(c) && !in_v1(c)).copied() {
            Some(c) => Refusal::NoController(c),
            None if needed.is_empty() && cgroup_ns => Refusal::NoCgroup2ForNamespace,
            None if needed.is_empty() => Refusal::NoDeviceCgroup,
            None => Refusal::SplitVersions,
        },
    )
}

/// cgroup v2: whether box must enable some of `names` in its own group's
/// cgroup.subtree_control, whose text is `current`, for box/ to have them.
pub fn must_delegate(current: &[u8], names: &[&str]) -> bool {
    names.iter().any(|c| !has_word(current, c.as_bytes()))
}

/// cgroup v2: the error when box's own group (`own`) refuses to offer
/// `names` to its children.
pub fn delegation_refused(e: Error, names: &[&str], own: &CPath) -> Error {
    let names = Names(names);
    match e.errno() {
        Some(Errno::BUSY) => bad!(
            "cgroup v2: cannot enable {} for {}: processes live in that cgroup (no internal processes rule); run box from a cgroup delegated to it with the controllers enabled, or as root from the root cgroup",
            names,
            own
        ),
        Some(Errno::ACCESS | Errno::PERM) => bad!(
            "cgroup v2: the cgroup {} is not delegated to this user: cannot enable {} there",
            own,
            names
        ),
        _ => e,
    }
}

/// `a, b, c` for a list of names in messages.
struct Names<'a>(&'a [&'a str]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(n)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Controller::*;

    /// This machine's kind: v1 hierarchies for the controllers, and a
    /// cgroup2 mount that holds only hugetlb.
    const HYBRID: &[u8] = b"\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_V2: &[u8] = b"hugetlb\n";

    const V2_ONLY: &[u8] = b"\
22 1 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw
28 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    const V2_ALL: &[u8] = b"cpuset cpu io memory hugetlb pids rdma misc\n";

    const V1_ONLY: &[u8] = b"\
30 25 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
31 25 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
32 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
";

    const NO_CGROUPS: &[u8] = b"\
1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw
22 1 0:5 / /proc rw,nosuid - proc proc rw
";

    fn mount(found: &Hierarchies, c: Controller) -> Option<&[u8]> {
        found.v1_mount(c).map(|p| p.as_bytes())
    }

    type Case<'a> = (&'a [Controller], bool, Result<Version, Refusal>);

    /// Each case's decision (controllers needed, cgroup namespace or not)
    /// on the host of `mountinfo` whose cgroup2 offers `v2`.
    fn decides(mountinfo: &[u8], v2: Option<&[u8]>, cases: &[Case<'_>]) {
        let found = Hierarchies::parse(mountinfo);
        for (needed, ns, decision) in cases {
            let got = decide(&found, v2, needed, *ns, false);
            assert_eq!(got, *decision, "needed {needed:?}, cgroup namespace {ns}");
        }
    }

    #[test]
    fn hybrid_host_uses_v1_for_limits() {
        let found = Hierarchies::parse(HYBRID);
        let v2 = found.v2.map(|p| p.as_bytes().to_vec());
        assert_eq!(v2.as_deref(), Some(&b"/sys/fs/cgroup/unified"[..]));
        assert_eq!(mount(&found, Memory), Some(&b"/sys/fs/cgroup/memory"[..]));
        // systemd's named hierarchy holds no controller.
        assert_eq!(mount(&found, Cpu), Some(&b"/sys/fs/cgroup/cpu"[..]));
        assert_eq!(mount(&found, Devices), Some(&b"/sys/fs/cgroup/devices"[..]));
        // box-oci's pause freezes there.
        assert_eq!(mount(&found, Freezer), Some(&b"/sys/fs/cgroup/freezer"[..]));
        assert_eq!(found.v1.len(), 6);
        decides(
            HYBRID,
            Some(HYBRID_V2),
            &[
                (&[Memory], false, Ok(Version::V1)),
                (&[Cpu, Cpuset, Memory, Pids], false, Ok(Version::V1)),
                // No limit: the cgroup namespace or the device program
                // need no controller, and cgroup2 is there.
                (&[], true, Ok(Version::V2)),
                (&[], false, Ok(Version::V2)),
            ],
        );
    }

    /// An OCI container's group, made with or without limits: without
    /// any it goes where the engines of a v1 or hybrid host look for it.
    #[test]
    fn oci_groups_always_made() {
        let always = |mountinfo: &[u8], v2: Option<&[u8]>, needed: &[Controller], ns: bool| {
            decide(&Hierarchies::parse(mountinfo), v2, needed, ns, true)
        };
        assert_eq!(always(HYBRID, Some(HYBRID_V2), &[], false), Ok(Version::V1));
        assert_eq!(always(V1_ONLY, None, &[], false), Ok(Version::V1));
        assert_eq!(always(V2_ONLY, Some(V2_ALL), &[], false), Ok(Version::V2));
        // A cgroup namespace is rooted in a cgroup2 group, as for box run.
        assert_eq!(always(HYBRID, Some(HYBRID_V2), &[], true), Ok(Version::V2));
        // Limits decide as for box run.
        assert_eq!(
            always(HYBRID, Some(HYBRID_V2), &[Memory], false),
            Ok(Version::V1)
        );
        assert_eq!(
            always(V2_ONLY, Some(V2_ALL), &[Pids], false),
            Ok(Version::V2)
        );
    }

    #[test]
    fn v2_only_host() {
        let found = Hierarchies::parse(V2_ONLY);
        assert!(found.v1.is_empty());
        let v2 = found.v2.map(|p| p.as_bytes().to_vec());
        assert_eq!(v2.as_deref(), Some(&b"/sys/fs/cgroup"[..]));
        decides(
            V2_ONLY,
            Some(V2_ALL),
            &[
                (&[Cpu, Cpuset, Memory, Pids], false, Ok(Version::V2)),
                (&[], true, Ok(Version::V2)),
            ],
        );
        // A controller the root does not offer its children (a kernel
        // without CONFIG_MEMCG, or a parent that keeps it): refused, by
        // name. Device rules alone: v2's device program, no v1 needed.
        decides(
            V2_ONLY,
            Some(b"cpuset cpu io pids\n"),
            &[
                (&[Pids, Memory], false, Err(Refusal::NoController(Memory))),
                (&[Pids], false, Ok(Version::V2)),
                (&[], false, Ok(Version::V2)),
            ],
        );
    }

    #[test]
    fn v1_only_host() {
        let found = Hierarchies::parse(V1_ONLY);
        assert!(found.v2.is_none());
        // cpu and cpuacct share a hierarchy, found by the option, not the
        // directory name.
        assert_eq!(mount(&found, Cpu), Some(&b"/sys/fs/cgroup/cpu,cpuacct"[..]));
        decides(
            V1_ONLY,
            None,
            &[
                (&[Memory, Pids], false, Ok(Version::V1)),
                (&[Cpu], false, Ok(Version::V1)),
                (&[Cpuset], false, Err(Refusal::NoController(Cpuset))),
                (&[], true, Err(Refusal::NoCgroup2ForNamespace)),
                // Device rules alone need the devices hierarchy, which
                // this host lacks.
                (&[], false, Err(Refusal::NoDeviceCgroup)),
            ],
        );
        let with_devices = [
            V1_ONLY,
            b"34 25 0:32 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n",
        ]
        .concat();
        decides(
            &with_devices,
            None,
            &[
                (&[], false, Ok(Version::V1)),
                (&[], true, Err(Refusal::NoCgroup2ForNamespace)),
            ],
        );
    }

    #[test]
    fn no_controllers() {
        let found = Hierarchies::parse(NO_CGROUPS);
        assert!(found.v2.is_none() && found.v1.is_empty());
        decides(
            NO_CGROUPS,
            None,
            &[
                (&[Pids], false, Err(Refusal::NoController(Pids))),
                (&[], true, Err(Refusal::NoCgroup2ForNamespace)),
                (&[], false, Err(Refusal::NoDeviceCgroup)),
            ],
        );
        // cgroup2 mounted with no controllers for its children, no v1.
        decides(
            V2_ONLY,
            Some(b"\n"),
            &[(&[Memory], false, Err(Refusal::NoController(Memory)))],
        );
    }

    #[test]
    fn split_between_versions_is_refused() {
        // memory only in v1, pids only in v2.
        let host = b"26 25 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
                     30 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        decides(
            host,
            Some(b"pids\n"),
            &[
                (&[Memory, Pids], false, Err(Refusal::SplitVersions)),
                (&[Pids], false, Ok(Version::V2)),
                (&[Memory], false, Ok(Version::V1)),
            ],
        );
    }

    #[test]
    fn own_cgroup_lines() {
        let text = b"12:pids:/user.slice/user-0.slice/session-4.scope\n\
                     4:cpu,cpuacct:/user.slice\n\
                     1:name=systemd:/user.slice/user-0.slice/session-4.scope\n\
                     0::/user.slice/user-0.slice/session-4.scope\n";
        let p = |c| own_path(text, c).as_bytes().to_vec();
        assert_eq!(p(None), b"/user.slice/user-0.slice/session-4.scope");
        assert_eq!(p(Some(Cpu)), b"/user.slice");
        assert_eq!(p(Some(Pids)), b"/user.slice/user-0.slice/session-4.scope");
        // No line for it (no memory hierarchy; `name=` is not a controller).
        assert_eq!(p(Some(Memory)), b"/");
        assert_eq!(own_path(b"0::/\n", Some(Pids)).as_bytes(), b"/");
        assert_eq!(own_path(b"", None).as_bytes(), b"/");
    }

    #[test]
    fn delegation() {
        let names = ["memory", "pids"];
        assert!(!must_delegate(b"cpuset cpu memory pids\n", &names));
        assert!(must_delegate(b"memory\n", &names));
        assert!(must_delegate(b"", &names));
        // `memory_recursiveprot` is not `memory`.
        assert!(must_delegate(b"memory_x pids", &names));
        let own = CPath::from_bytes(b"/user.slice").unwrap();
        let refused = |errno| {
            let e = Error::sys(packed!("enable a cgroup controller"), "write", b"x", errno);
            let mut line = Text::<512>::new();
            let _ = fmt::write(
                &mut line,
                format_args!("{}", delegation_refused(e, &names, &own)),
            );
            String::from_utf8(line.as_bytes().to_vec()).unwrap()
        };
        // Processes in box's own group: the no-internal-processes rule.
        let busy = refused(Errno::BUSY);
        assert!(
            busy.contains("cannot enable memory, pids for /user.slice"),
            "{busy}"
        );
        assert!(busy.contains("no internal processes"), "{busy}");
        // subtree_control not writable: not delegated to this user.
        for errno in [Errno::ACCESS, Errno::PERM] {
            let denied = refused(errno);
            assert!(denied.contains("/user.slice is not delegated"), "{denied}");
        }
        // Anything else keeps the write's own error.
        assert!(refused(Errno::INVAL).contains("enable a cgroup controller"));
    }
}
