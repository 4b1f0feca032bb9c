//! box-init's keys on the kernel command line (the README's table).
//!
//! Parameters with a dot never reach init's argv or environment (the kernel
//! keeps them for modules), and `root=`, `init=`, `ro`, `rootwait` are the
//! kernel's own: all are read here from /proc/cmdline. The text is kept and
//! each key looked up when asked for (the last `key=value` wins), so that
//! adding a key is one accessor.

use rustix::fs::{Mode, OFlags};

use crate::text::{CPath, Text};

/// Seconds box-init waits for the root device when neither `rootwait` nor
/// `box.rootwait=` says otherwise: long enough for an SD card or USB disk
/// to be probed, short enough that a wrong `root=` is reported soon.
pub const ROOT_WAIT_DEFAULT_S: u32 = 10;

/// Seconds between a boot fault and the reboot, unless `box.panic_delay=`.
pub const PANIC_DELAY_DEFAULT_S: u32 = 10;

/// The keys whose value is a number of seconds (a bare `rootwait` is
/// allowed: for ever).
const NUMBERS: &[&[u8]] = &[
    b"box.rootwait",
    b"rootwait",
    b"box.watchdog",
    b"box.panic_delay",
];

/// How long to wait for the root device to appear.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RootWait {
    Seconds(u32),
    /// `rootwait` alone: as the kernel, wait as long as it takes.
    Forever,
}

pub struct Cmdline {
    /// /proc/cmdline up to a `--` (after it come init's arguments).
    text: [u8; 4096],
    len: usize,
    /// `box.spec=NAME`: run only /etc/box/NAME.box.
    pub spec: Option<Text<64>>,
    /// `box.shell=1`: a shell on the console when the specs end, or after
    /// a boot fault.
    pub shell: bool,
}

impl Cmdline {
    /// Read /proc/cmdline.
    pub fn read() -> Cmdline {
        let mut buf = [0u8; 4096];
        let n = rustix::fs::open(
            c"/proc/cmdline",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .and_then(|fd| rustix::io::read(&fd, &mut buf))
        .unwrap_or(0);
        Cmdline::parse(&buf[..n])
    }

    pub fn parse(given: &[u8]) -> Cmdline {
        let mut cmdline = Cmdline {
            text: [0; 4096],
            len: 0,
            spec: None,
            shell: false,
        };
        let end = given
            .windows(4)
            .position(|w| w == b" -- ")
            .unwrap_or(given.len());
        let len = end.min(cmdline.text.len());
        cmdline.text[..len].copy_from_slice(&given[..len]);
        cmdline.len = len;
        cmdline.spec = cmdline.value(b"box.spec").and_then(Text::try_from_bytes);
        cmdline.shell = cmdline.flag(b"box.shell");
        cmdline
    }

    fn words(&self) -> impl Iterator<Item = &[u8]> {
        self.text[..self.len]
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
    }

    /// The value of the last `key=value` (quotes taken off), or `b""` for
    /// a bare `key`.
    pub fn value(&self, key: &[u8]) -> Option<&[u8]> {
        let mut found = None;
        for word in self.words() {
            let (k, v) = match word.iter().position(|&b| b == b'=') {
                Some(i) => (&word[..i], &word[i + 1..]),
                None => (word, &b""[..]),
            };
            if k == key {
                found = Some(
                    v.strip_prefix(b"\"")
                        .and_then(|v| v.strip_suffix(b"\""))
                        .unwrap_or(v),
                );
            }
        }
        found
    }

    fn flag(&self, key: &[u8]) -> bool {
        self.value(key)
            .is_some_and(|v| crate::config::parse_flag(v) == Some(true))
    }

    fn number(&self, key: &[u8]) -> Option<u32> {
        self.value(key).and_then(crate::text::parse_u32)
    }

    fn path(&self, key: &[u8]) -> Option<CPath> {
        self.value(key)
            .and_then(CPath::from_bytes)
            .filter(|p| !p.is_empty())
    }

    /// The words whose number box-init cannot read (logged, then ignored).
    pub fn unusable(&self) -> impl Iterator<Item = &[u8]> {
        self.words().filter(|word| {
            let (key, value) =
                word.split_at(word.iter().position(|&b| b == b'=').unwrap_or(word.len()));
            NUMBERS.contains(&key)
                && !value.is_empty()
                && crate::text::parse_u32(&value[1..]).is_none()
        })
    }

    /// The real root asked for, and the key that asked: box.switch_root=
    /// first, then the kernel's root=.
    pub fn root_request(&self) -> Option<(&'static str, CPath)> {
        match self.path(b"box.switch_root") {
            Some(path) => Some(("box.switch_root", path)),
            None => self.path(b"root").map(|path| ("root", path)),
        }
    }

    /// `box.rootwait=S`, else `rootwait=S` or a bare `rootwait` (for ever),
    /// else 10 s.
    pub fn root_wait(&self) -> RootWait {
        for key in [&b"box.rootwait"[..], b"rootwait"] {
            match self.value(key) {
                Some(b"") => return RootWait::Forever,
                Some(v) => {
                    if let Some(s) = crate::text::parse_u32(v) {
                        return RootWait::Seconds(s);
                    }
                }
                None => {}
            }
        }
        RootWait::Seconds(ROOT_WAIT_DEFAULT_S)
    }

    /// `rootfstype=TYPE`: the root's filesystem, instead of detecting it.
    pub fn rootfstype(&self) -> Option<CPath> {
        self.path(b"rootfstype")
    }

    /// `rootflags=OPTS`: mount data for the root (e.g. `data=journal`).
    pub fn rootflags(&self) -> Option<CPath> {
        self.path(b"rootflags")
    }

    /// `ro` / `rw`: the last one given wins; read-write when neither is
    /// (no fstab comes after box-init to remount it).
    pub fn read_only(&self) -> bool {
        self.words().fold(false, |ro, word| match word {
            b"ro" => true,
            b"rw" => false,
            _ => ro,
        })
    }

    /// The new root's init: `box.init=`, `init=`, or /sbin/init.
    pub fn new_init(&self) -> CPath {
        self.path(b"box.init")
            .or_else(|| self.path(b"init"))
            .or_else(|| CPath::from_bytes(b"/sbin/init"))
            .unwrap_or_default()
    }

    /// `box.modules=a,b`: load these instead of /etc/box/modules.
    pub fn modules(&self) -> Option<&[u8]> {
        self.value(b"box.modules").filter(|v| !v.is_empty())
    }

    /// `box.watchdog=SECONDS`: feed /dev/watchdog with this timeout (0: off).
    pub fn watchdog(&self) -> Option<u32> {
        self.number(b"box.watchdog")
    }

    /// `box.watchdog.test-stop=1`: open the watchdog, then never feed it (a
    /// test that the board really resets when its init hangs).
    pub fn watchdog_test_stop(&self) -> bool {
        self.flag(b"box.watchdog.test-stop")
    }

    /// `box.panic_delay=S`: seconds between a boot fault and the reboot.
    pub fn panic_delay(&self) -> u32 {
        self.number(b"box.panic_delay")
            .unwrap_or(PANIC_DELAY_DEFAULT_S)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_keys_beat_the_kernels() {
        let c = Cmdline::parse(
            b"console=ttyS0 root=/dev/vda rootwait init=/bin/sh box.init=/sbin/box-init \
              box.switch_root=/dev/vdb box.rootwait=3 ro",
        );
        let (key, root) = c.root_request().unwrap();
        assert_eq!(
            (key, root.as_bytes()),
            ("box.switch_root", &b"/dev/vdb"[..])
        );
        assert_eq!(c.root_wait(), RootWait::Seconds(3));
        assert_eq!(c.new_init().as_bytes(), b"/sbin/box-init");
        assert!(c.read_only());
    }

    #[test]
    fn kernel_keys_alone() {
        let c = Cmdline::parse(b"root=/dev/mmcblk0p2 rootfstype=ext4 rootwait rw");
        let (key, root) = c.root_request().unwrap();
        assert_eq!((key, root.as_bytes()), ("root", &b"/dev/mmcblk0p2"[..]));
        assert_eq!(c.root_wait(), RootWait::Forever);
        assert_eq!(c.rootfstype().unwrap().as_bytes(), b"ext4");
        assert!(!c.read_only());
        assert_eq!(c.new_init().as_bytes(), b"/sbin/init");
        let c = Cmdline::parse(b"rootwait=5 rootflags=data=journal");
        assert_eq!(c.root_wait(), RootWait::Seconds(5));
        assert_eq!(c.rootflags().unwrap().as_bytes(), b"data=journal");
    }

    #[test]
    fn defaults_and_the_last_of_ro_rw() {
        let c = Cmdline::parse(b"quiet ro rw");
        assert!(c.root_request().is_none());
        assert_eq!(c.root_wait(), RootWait::Seconds(ROOT_WAIT_DEFAULT_S));
        assert!(!c.read_only());
        assert!(Cmdline::parse(b"rw ro").read_only());
        assert_eq!(c.panic_delay(), PANIC_DELAY_DEFAULT_S);
        assert!(c.watchdog().is_none() && !c.watchdog_test_stop() && !c.shell);
        assert!(c.modules().is_none() && c.rootfstype().is_none());
        // `ro=1` is not the flag.
        assert!(!Cmdline::parse(b"ro=1").read_only());
    }

    #[test]
    fn board_keys() {
        let c = Cmdline::parse(
            b"box.modules=virtio_blk,ext4 box.watchdog=30 box.watchdog.test-stop=1 \
              box.panic_delay=0 box.shell=1 box.spec=\"web\"",
        );
        assert_eq!(c.modules().unwrap(), b"virtio_blk,ext4");
        assert_eq!(c.watchdog(), Some(30));
        assert!(c.watchdog_test_stop() && c.shell);
        assert_eq!(c.panic_delay(), 0);
        assert_eq!(c.spec.unwrap().as_bytes(), b"web");
        assert_eq!(c.unusable().count(), 0);
    }

    #[test]
    fn unusable_numbers_are_listed_and_not_taken() {
        let c =
            Cmdline::parse(b"box.watchdog=soon box.rootwait=-1 box.panic_delay=1e3 root= rootwait");
        assert!(c.watchdog().is_none());
        assert_eq!(c.panic_delay(), PANIC_DELAY_DEFAULT_S);
        // An unusable box.rootwait leaves rootwait's word.
        assert_eq!(c.root_wait(), RootWait::Forever);
        assert!(c.root_request().is_none());
        let unusable: Vec<&[u8]> = c.unusable().collect();
        assert_eq!(
            unusable,
            [
                &b"box.watchdog=soon"[..],
                b"box.rootwait=-1",
                b"box.panic_delay=1e3"
            ]
        );
    }

    #[test]
    fn words_after_the_double_dash_are_inits() {
        let c = Cmdline::parse(b"quiet -- root=/dev/vda box.shell=1");
        assert!(c.root_request().is_none() && !c.shell);
    }
}
