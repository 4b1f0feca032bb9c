//! Checks of the option table of `box run` and spec files
//! ([`RUN_OPTIONS`] in src/config.rs), shared by the fuzz target `options`
//! and the unit tests of src/config.rs, which include this file.
//!
//! [`apply_and_check`] applies one option and compares the outcome with
//! [`model`], a second, plainly written account of what each option accepts
//! and what it stores: accepted exactly when the model accepts (no garbage
//! in, nothing valid refused), the configuration then equal byte for byte to
//! the model's, or, when refused, left as it was, with a message that names
//! the option as the user wrote it (`--memory` on the command line,
//! `memory` in a spec file). [`invariants`] then holds of every
//! configuration reached.
//!
//! Only public items of the crate are used: the fuzz crate compiles
//! config.rs as a sibling module, so its private items are out of reach.

use crate::config::{
    Apply, Bind, CPUSET_MAX, Device, ENV_ENTRY_MAX, HOSTNAME_MAX, IdRange, Join, MAX_BINDS,
    MAX_DEVICES, MAX_ENV, MAX_ID_RANGES, MAX_RLIMITS, MAX_TMPFS, NAME_MAX, NAMESPACES, NsSet,
    Propagation, RUN_OPTIONS, Restart, Rlimit, RunConfig, RunOption, TMPFS_OPTS_MAX, Tmpfs,
};
use crate::options::Given;
use crate::sys::caps;
use crate::text::{CPath, PATH_MAX, Text};
use linux_raw_sys::general as k;
use rustix::process::Resource;

/// A fuzz input. The first byte picks the option (modulo the number of
/// options that set the configuration, in the table's order) and the rest
/// is its value, NUL bytes included. With the first
/// byte's top bit set, the input is instead a series of options separated by
/// NUL bytes, each its own first byte and value, applied in turn to one
/// configuration (to reach the limits and the replacing of repeated keys).
pub fn check_input(data: &[u8]) {
    let Some(&first) = data.first() else {
        return;
    };
    let mut config = RunConfig::default();
    if first & 0x80 == 0 {
        apply_and_check(&mut config, option_for(first), &data[1..]);
        return;
    }
    for record in data.split(|&b| b == 0) {
        if let Some((&key, value)) = record.split_first() {
            apply_and_check(&mut config, option_for(key), value);
        }
    }
}

/// The options that set the configuration (all but `--file` and `cmd`).
pub fn config_options() -> impl Iterator<Item = &'static RunOption> + Clone {
    RUN_OPTIONS
        .iter()
        .filter(|o| matches!(o.action, Apply::Config(_)))
}

/// The option a fuzz input's byte picks.
pub fn option_for(byte: u8) -> &'static RunOption {
    let count = config_options().count();
    config_options()
        .nth(usize::from(byte) % count)
        .expect("an option of the table")
}

/// Apply `value` through `option` and check the outcome against [`model`];
/// returns whether it was accepted.
pub fn apply_and_check(config: &mut RunConfig, option: &RunOption, value: &[u8]) -> bool {
    let Apply::Config(apply) = option.action else {
        panic!("--{} does not set the configuration", option.form.long);
    };
    let name = option.form.long;
    let before = config.clone();
    let result = apply(config, value, Given::Long(name));
    let expected = model(name, value, &before);
    let shown = || format!("--{name} {:?}", String::from_utf8_lossy(value));
    match (&result, &expected) {
        (Ok(()), Some(want)) => assert!(
            snapshot(config) == snapshot(want),
            "{} stored\n{config:?}\nnot\n{want:?}",
            shown()
        ),
        (Err(e), None) => {
            // The message names the option as given, and the configuration
            // is untouched.
            let message = e.to_string();
            assert!(message.starts_with(&format!("--{name}")), "{message}");
            assert!(
                snapshot(config) == snapshot(&before),
                "{} was refused ({e}) but changed the configuration",
                shown()
            );
            // In a spec file the same refusal names the key, dashes and all
            // gone: no message of the command line's is reworded.
            let mut again = before.clone();
            let in_spec = apply(&mut again, value, Given::Key(name))
                .expect_err("refused on the command line, accepted in a spec file")
                .to_string();
            // (A message cut at the error's capacity ends two bytes later
            // in a spec, and may end in a cut character.)
            let in_spec = in_spec.strip_prefix(name).expect(&in_spec);
            let rest = &message[2 + name.len()..];
            match rest.strip_suffix('…') {
                None => assert_eq!(in_spec, rest),
                Some(cut) => assert!(
                    in_spec.starts_with(cut.trim_end_matches('\u{fffd}')),
                    "{message}\n{in_spec}"
                ),
            }
        }
        (Ok(()), None) => panic!("{} accepted: garbage in\n{config:?}", shown()),
        (Err(e), Some(_)) => panic!("{} refused: {e}", shown()),
    }
    invariants(config);
    result.is_ok()
}

/// What applying `key` with `value` to `before` gives, or `None` where the
/// value must be refused. Written apart from config.rs, from the options'
/// documented syntax, so that the two can be compared.
pub fn model(key: &str, v: &[u8], before: &RunConfig) -> Option<RunConfig> {
    let mut c = before.clone();
    match key {
        "rootfs" => c.rootfs = Some(path(v)?),
        "workdir" => c.workdir = Some(absolute(v)?),
        "name" => {
            let ok = (1..=NAME_MAX).contains(&v.len())
                && v[0].is_ascii_alphanumeric()
                && v.iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b));
            c.name = Some(Text::try_from_bytes(v).filter(|_| ok)?);
        }
        "hostname" => {
            let ok = (1..=HOSTNAME_MAX).contains(&v.len())
                && v.iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(b));
            c.hostname = Some(Text::try_from_bytes(v).filter(|_| ok)?);
        }
        "ns" => {
            // Each word a type made (`net`) or joined (`net=PATH`). Types
            // named alone are the set made; joins alone keep the default set
            // but for the types joined. mount is never joined; no type is
            // both made and joined, or joined twice.
            let mut made = 0;
            let mut alone = false;
            let mut joins = c.joins.clone();
            joins.clear();
            for word in v.split(|&b| b == b',') {
                let (name, file) = match word.iter().position(|&b| b == b'=') {
                    Some(i) => (&word[..i], Some(&word[i + 1..])),
                    None => (word, None),
                };
                let kind = NAMESPACES.iter().find(|n| n.name.as_bytes() == name)?;
                match file {
                    None => {
                        alone = true;
                        made |= kind.flag;
                    }
                    Some(file) => {
                        if kind.flag == k::CLONE_NEWNS
                            || joins.iter().any(|j| j.kind.flag == kind.flag)
                        {
                            return None;
                        }
                        let join = Join {
                            kind,
                            path: path(file)?,
                            given: Given::Long("ns"),
                        };
                        joins.push(join).ok()?;
                    }
                }
            }
            if joins.iter().any(|j| made & j.kind.flag != 0) {
                return None;
            }
            let mut set = if alone {
                made
            } else {
                joins
                    .iter()
                    .fold(NsSet::DEFAULT.0, |set, j| set & !j.kind.flag)
            };
            if set & k::CLONE_NEWNS == 0 {
                return None;
            }
            if c.map_root || !c.uid_map.is_empty() || !c.gid_map.is_empty() {
                set |= k::CLONE_NEWUSER;
            }
            c.namespaces = NsSet(set);
            c.joins = joins;
        }
        "net" => match flag(v)? {
            true => c.namespaces.0 |= k::CLONE_NEWNET,
            false => c.namespaces.0 &= !k::CLONE_NEWNET,
        },
        "propagation" => {
            c.propagation = match v {
                b"private" => Propagation::Private,
                b"slave" => Propagation::Slave,
                b"shared" => Propagation::Shared,
                b"unbindable" => Propagation::Unbindable,
                _ => return None,
            }
        }
        "bind" => {
            let parts: Vec<&[u8]> = v.split(|&b| b == b':').collect();
            let read_only = match parts[..] {
                [_, _] | [_, _, b"rw"] => false,
                [_, _, b"ro"] => true,
                _ => return None,
            };
            if parts[0].is_empty() || parts[1].is_empty() || is_root(parts[1]) {
                return None;
            }
            let bind = Bind {
                source: path(parts[0])?,
                target: absolute(parts[1])?,
                read_only,
            };
            c.binds.push(bind).ok()?;
        }
        "tmpfs" => {
            let (target, options) = match v.iter().position(|&b| b == b':') {
                Some(i) => (&v[..i], &v[i + 1..]),
                None => (v, &b""[..]),
            };
            let mut kept: Vec<&[u8]> = Vec::new();
            for option in options.split(|&b| b == b',').filter(|o| !o.is_empty()) {
                let ok = match option.strip_prefix(b"size=") {
                    Some(size) => tmpfs_size(size),
                    None => option.strip_prefix(b"mode=").is_some_and(mode),
                };
                if !ok {
                    return None;
                }
                kept.push(option);
            }
            if !kept.iter().any(|o| o.starts_with(b"mode=")) {
                kept.push(b"mode=1777");
            }
            if is_root(target) {
                return None;
            }
            let tmpfs = Tmpfs {
                target: absolute(target)?,
                options: Text::try_from_bytes(&kept.join(&b","[..]))?,
                after_binds: c.binds.len() as u8,
                #[cfg(feature = "oci")]
                copy_up: crate::config::CopyUp::No,
            };
            c.tmpfs.push(tmpfs).ok()?;
        }
        "read-only" => c.read_only = flag(v)?,
        "memory" => c.memory = Some(size(v).filter(|&n| n >= 4096)?),
        "pids" => c.pids = Some(decimal(v).filter(|&n| n >= 1)?),
        "cpu" => {
            let (quota, period) = split_once(v, b'/')?;
            let (quota, period) = (decimal(quota)?, decimal(period)?);
            if !(1000..=1_000_000).contains(&period) || quota < 1000 {
                return None;
            }
            c.cpu = Some((quota, period));
        }
        "cpuset" => {
            cpu_list(v)?;
            if v.len() > CPUSET_MAX {
                return None;
            }
            c.cpuset = Some(Text::try_from_bytes(v)?);
        }
        "env" => {
            let eq = v.iter().position(|&b| b == b'=')?;
            if eq == 0 || v.contains(&0) || v.len() > ENV_ENTRY_MAX {
                return None;
            }
            let entry = Text::try_from_bytes(v)?;
            let key = &v[..=eq];
            match c.env.iter_mut().find(|e| e.as_bytes().starts_with(key)) {
                Some(old) => *old = entry,
                None => c.env.push(entry).ok()?,
            }
        }
        "user" => {
            let (uid, gid) = match split_once(v, b':') {
                Some((uid, gid)) => (id(uid)?, id(gid)?),
                None => (id(v)?, id(v)?),
            };
            c.user = Some((uid, gid));
        }
        "map-root" => {
            c.map_root = flag(v)?;
            if c.map_root {
                c.namespaces.0 |= k::CLONE_NEWUSER;
            }
        }
        "init" => c.init = flag(v)?,
        "detach" => c.detach = flag(v)?,
        "rm" => c.rm = flag(v)?,
        "tty" => c.tty = flag(v)?,
        "no-pivot" => c.no_pivot = flag(v)?,
        // Read before the configuration (src/timing.rs): nothing in it.
        "debug-timing" => {
            flag(v)?;
        }
        "seccomp" => {
            c.seccomp = match v {
                b"default" => true,
                b"unconfined" => false,
                _ => return None,
            }
        }
        "cap-add" => {
            let bits = capabilities(v)?;
            c.cap_add |= bits;
            c.cap_drop &= !bits;
        }
        "cap-drop" => {
            let bits = capabilities(v)?;
            c.cap_drop |= bits;
            c.cap_add &= !bits;
        }
        "rlimit" => {
            let (name, values) = split_once(v, b'=')?;
            let name = name
                .strip_prefix(b"RLIMIT_")
                .or_else(|| name.strip_prefix(b"rlimit_"))
                .unwrap_or(name);
            let &(_, resource) = RLIMIT_NAMES
                .iter()
                .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))?;
            let (soft, hard) = split_once(values, b':').unwrap_or((values, values));
            let (soft, hard) = (limit(soft)?, limit(hard)?);
            // `None` is unlimited, above every number.
            if soft.unwrap_or(u64::MAX) > hard.unwrap_or(u64::MAX) {
                return None;
            }
            let new = Rlimit {
                resource,
                soft,
                hard,
            };
            match c.rlimits.iter_mut().find(|r| r.resource == resource) {
                Some(old) => *old = new,
                None => c.rlimits.push(new).ok()?,
            }
        }
        "restart" => {
            c.restart = match v {
                b"no" => Restart::No,
                b"on-failure" => Restart::OnFailure,
                b"always" => Restart::Always,
                _ => return None,
            }
        }
        "uidmap" | "gidmap" => {
            let parts: Vec<&[u8]> = v.split(|&b| b == b':').collect();
            let [inside, outside, count] = parts[..] else {
                return None;
            };
            let range = IdRange {
                inside: number(inside).and_then(|n| u32::try_from(n).ok())?,
                outside: number(outside).and_then(|n| u32::try_from(n).ok())?,
                count: number(count).and_then(|n| u32::try_from(n).ok())?,
            };
            let map = if key == "uidmap" {
                &mut c.uid_map
            } else {
                &mut c.gid_map
            };
            if !range_ok(&range) || map.iter().any(|r| overlap(r, &range)) {
                return None;
            }
            map.push(range).ok()?;
            c.namespaces.0 |= k::CLONE_NEWUSER;
        }
        "device" => {
            // HOST, HOST:INSIDE (a path), HOST:PERMISSIONS, HOST:INSIDE:PERMISSIONS.
            let parts: Vec<&[u8]> = v.split(|&b| b == b':').collect();
            let (host, inside, letters) = match parts[..] {
                [host] => (host, host, None),
                [host, second] if second.first() == Some(&b'/') => (host, second, None),
                [host, letters] => (host, host, Some(letters)),
                [host, inside, letters] => (host, inside, Some(letters)),
                _ => return None,
            };
            if host.first() != Some(&b'/') || !device_path(inside) {
                return None;
            }
            let access = match letters {
                None => 7,
                Some(letters) => device_letters(letters)?,
            };
            let device = Device {
                host: path(host)?,
                inside: path(inside)?,
                access,
            };
            if c.devices.iter().any(|d| d.inside.as_bytes() == inside) {
                return None;
            }
            c.devices.push(device).ok()?;
        }
        other => panic!("option --{other} has no model here: add one"),
    }
    Some(c)
}

/// What holds of every configuration the options can build.
pub fn invariants(c: &RunConfig) {
    let known = NAMESPACES.iter().fold(0, |all, n| all | n.flag);
    assert_eq!(c.namespaces.0 & !known, 0, "unknown namespace flags");
    assert!(c.namespaces.has(k::CLONE_NEWNS), "no mount namespace");
    if c.map_root || !c.uid_map.is_empty() || !c.gid_map.is_empty() {
        assert!(
            c.namespaces.has(k::CLONE_NEWUSER),
            "id maps without a user namespace"
        );
    }
    for p in [c.rootfs, c.workdir].iter().flatten() {
        assert!(!p.is_empty());
    }
    assert!(c.workdir.is_none_or(|p| p.as_bytes().starts_with(b"/")));
    assert!(c.binds.len() <= MAX_BINDS && c.tmpfs.len() <= MAX_TMPFS);
    for b in &c.binds {
        assert!(!b.source.is_empty() && b.target.as_bytes().starts_with(b"/"));
    }
    for t in &c.tmpfs {
        assert!(t.target.as_bytes().starts_with(b"/"));
        assert!(!t.options.overflowed() && t.options.as_bytes().len() <= TMPFS_OPTS_MAX);
    }
    assert!(c.memory.is_none_or(|n| n >= 4096));
    assert!(c.pids.is_none_or(|n| n >= 1));
    assert!(
        c.cpu
            .is_none_or(|(q, p)| q >= 1000 && (1000..=1_000_000).contains(&p))
    );
    if let Some(cpuset) = c.cpuset {
        let list = cpu_list(cpuset.as_bytes()).expect("a stored CPU list that does not parse");
        let highest = list.iter().map(|&(_, hi)| hi).max();
        assert_eq!(crate::config::parse_cpu_list(cpuset.as_bytes()), highest);
        assert!(cpuset.as_bytes().len() <= CPUSET_MAX);
    }
    assert!(c.env.len() <= MAX_ENV);
    for (i, e) in c.env.iter().enumerate() {
        let eq = e.as_bytes().iter().position(|&b| b == b'=');
        let key = &e.as_bytes()[..=eq.filter(|&i| i > 0).expect("an env entry without KEY=")];
        let same_key = c
            .env
            .iter()
            .skip(i + 1)
            .any(|o| o.as_bytes().starts_with(key));
        assert!(!same_key, "two env entries for one key");
    }
    assert!(c.user.is_none_or(|(u, g)| u != u32::MAX && g != u32::MAX));
    assert_eq!(
        c.cap_add & c.cap_drop,
        0,
        "a capability both added and dropped"
    );
    assert_eq!((c.cap_add | c.cap_drop) & !caps::all().bits(), 0);
    assert!(c.rlimits.len() <= MAX_RLIMITS);
    for (i, r) in c.rlimits.iter().enumerate() {
        assert!(
            !c.rlimits
                .iter()
                .skip(i + 1)
                .any(|o| o.resource == r.resource)
        );
        assert!(
            r.soft.is_some() || r.hard.is_none(),
            "soft unlimited, hard not"
        );
        assert!(r.soft.unwrap_or(0) <= r.hard.unwrap_or(u64::MAX));
        assert!(r.soft != Some(u64::MAX) && r.hard != Some(u64::MAX));
    }
    assert!(c.devices.len() <= MAX_DEVICES);
    for (i, d) in c.devices.iter().enumerate() {
        assert!(d.host.as_bytes().starts_with(b"/"), "{d:?}");
        assert!(device_path(d.inside.as_bytes()), "{d:?}");
        assert!((1..=7).contains(&d.access), "{d:?}");
        assert!(
            !c.devices
                .iter()
                .skip(i + 1)
                .any(|o| o.inside.as_bytes() == d.inside.as_bytes()),
            "two devices at {}",
            d.inside
        );
    }
    for map in [&c.uid_map, &c.gid_map] {
        assert!(map.len() <= MAX_ID_RANGES);
        for (i, r) in map.iter().enumerate() {
            assert!(range_ok(r), "{r:?} passes 4294967295");
            for o in map.iter().skip(i + 1) {
                assert!(!overlap(r, o), "{r:?} and {o:?} overlap");
            }
        }
    }
}

/// Every field of a configuration as bytes, for exact comparison (Debug
/// output would show invalid UTF-8 in paths lossily).
pub fn snapshot(c: &RunConfig) -> Vec<u8> {
    fn put(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => {
                out.extend_from_slice(format!("+{}:", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            None => out.push(b'-'),
        }
    }
    let mut out = format!(
        "{:?}{:?}",
        (
            c.namespaces,
            c.propagation,
            c.read_only,
            c.memory,
            c.pids,
            c.cpu,
            c.user,
            c.map_root,
            c.init,
            c.detach,
            c.no_pivot,
            c.seccomp,
        ),
        (
            c.restart, c.cap_add, c.cap_drop, &c.rlimits, &c.uid_map, &c.gid_map, c.rm, c.tty
        ),
    )
    .into_bytes();
    put(&mut out, c.rootfs.as_ref().map(CPath::as_bytes));
    put(&mut out, c.workdir.as_ref().map(CPath::as_bytes));
    put(&mut out, c.name.as_ref().map(Text::as_bytes));
    put(&mut out, c.hostname.as_ref().map(Text::as_bytes));
    put(&mut out, c.cpuset.as_ref().map(Text::as_bytes));
    for b in &c.binds {
        put(&mut out, Some(b.source.as_bytes()));
        put(&mut out, Some(b.target.as_bytes()));
        out.push(u8::from(b.read_only));
    }
    out.push(b'|');
    for t in &c.tmpfs {
        put(&mut out, Some(t.target.as_bytes()));
        put(&mut out, Some(t.options.as_bytes()));
    }
    out.push(b'|');
    for e in &c.env {
        put(&mut out, Some(e.as_bytes()));
    }
    out.push(b'|');
    for j in &c.joins {
        out.extend_from_slice(j.kind.name.as_bytes());
        put(&mut out, Some(j.path.as_bytes()));
    }
    out.push(b'|');
    for d in &c.devices {
        put(&mut out, Some(d.host.as_bytes()));
        put(&mut out, Some(d.inside.as_bytes()));
        out.push(d.access);
    }
    out
}

/// The names `--rlimit` takes, as setrlimit(2) gives them. A copy of the
/// table in config.rs (private there): a name added there only makes these
/// checks fail, on purpose.
pub const RLIMIT_NAMES: &[(&str, Resource)] = &[
    ("cpu", Resource::Cpu),
    ("fsize", Resource::Fsize),
    ("data", Resource::Data),
    ("stack", Resource::Stack),
    ("core", Resource::Core),
    ("rss", Resource::Rss),
    ("nproc", Resource::Nproc),
    ("nofile", Resource::Nofile),
    ("memlock", Resource::Memlock),
    ("as", Resource::As),
    ("locks", Resource::Locks),
    ("sigpending", Resource::Sigpending),
    ("msgqueue", Resource::Msgqueue),
    ("nice", Resource::Nice),
    ("rtprio", Resource::Rtprio),
    ("rttime", Resource::Rttime),
];

/// An unsigned decimal of any length (leading zeros allowed), or `None` for
/// anything that is not one or does not fit in a u128.
pub fn number(s: &[u8]) -> Option<u128> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u128, |n, &d| {
        n.checked_mul(10)?.checked_add(u128::from(d - b'0'))
    })
}

/// A decimal that fits in a u64.
pub fn decimal(s: &[u8]) -> Option<u64> {
    number(s).and_then(|n| u64::try_from(n).ok())
}

/// `[0-9]+[KkMmGg]?`, in bytes (powers of 1024), if that fits in a u64.
pub fn size(s: &[u8]) -> Option<u64> {
    let (digits, unit) = match s.last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1u128 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    u64::try_from(number(digits)?.checked_mul(unit)?).ok()
}

/// A CPU list (`0-1,3`) as its ranges: numbers that fit in a u32, each
/// range low to high, at least one.
pub fn cpu_list(s: &[u8]) -> Option<Vec<(u32, u32)>> {
    let cpu = |s: &[u8]| number(s).and_then(|n| u32::try_from(n).ok());
    s.split(|&b| b == b',')
        .map(|item| {
            let ends: Vec<&[u8]> = item.split(|&b| b == b'-').collect();
            let (lo, hi) = match ends[..] {
                [one] => (cpu(one)?, cpu(one)?),
                [lo, hi] => (cpu(lo)?, cpu(hi)?),
                _ => return None,
            };
            (lo <= hi).then_some((lo, hi))
        })
        .collect()
}

/// A tmpfs `size=`: bytes with an optional k/m/g suffix that fit in a u64,
/// or a percentage of RAM; not zero (tmpfs reads 0 as unlimited), and
/// without a leading 0 (the kernel's memparse would read octal).
fn tmpfs_size(s: &[u8]) -> bool {
    if s.first() == Some(&b'0') {
        return false;
    }
    match s.strip_suffix(b"%") {
        Some(percent) => decimal(percent).is_some_and(|n| n > 0),
        None => size(s).is_some_and(|n| n > 0),
    }
}

/// A tmpfs `mode=`: octal, at most 07777 (tmpfs masks off higher bits).
fn mode(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|b| (b'0'..=b'7').contains(b))
        && s.iter()
            .try_fold(0u32, |m, &d| {
                m.checked_mul(8).map(|m| m + u32::from(d - b'0'))
            })
            .is_some_and(|m| m <= 0o7777)
}

fn flag(v: &[u8]) -> Option<bool> {
    match v {
        b"" | b"true" | b"yes" | b"on" | b"1" => Some(true),
        b"false" | b"no" | b"off" | b"0" => Some(false),
        _ => None,
    }
}

fn path(v: &[u8]) -> Option<CPath> {
    if v.is_empty() || v.contains(&0) || v.len() > PATH_MAX {
        return None;
    }
    CPath::from_bytes(v)
}

fn absolute(v: &[u8]) -> Option<CPath> {
    if !v.starts_with(b"/") {
        return None;
    }
    path(v)
}

/// Whether an absolute path, walked word by word, ends at the root (`/`,
/// `/.`, `/a/..`): no bind or tmpfs may target the container's root.
fn is_root(v: &[u8]) -> bool {
    let mut walked: Vec<&[u8]> = Vec::new();
    for word in v
        .split(|&b| b == b'/')
        .filter(|w| !w.is_empty() && *w != b".")
    {
        if word == b".." {
            walked.pop();
        } else {
            walked.push(word);
        }
    }
    v.starts_with(b"/") && walked.is_empty()
}

/// A numeric uid or gid; not 4294967295, which is (uid_t)-1, "no id".
fn id(s: &[u8]) -> Option<u32> {
    number(s)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n != u32::MAX)
}

/// `unlimited`/`infinity`, or a number below RLIM_INFINITY.
fn limit(s: &[u8]) -> Option<Option<u64>> {
    if s == b"unlimited" || s == b"infinity" {
        return Some(None);
    }
    decimal(s).filter(|&n| n != u64::MAX).map(Some)
}

fn capabilities(v: &[u8]) -> Option<u64> {
    let mut bits = 0;
    for word in v.split(|&b| b == b',') {
        if word.eq_ignore_ascii_case(b"all") {
            bits |= (1u64 << caps::NAMES.len()) - 1;
            continue;
        }
        let name = word
            .strip_prefix(b"CAP_")
            .or_else(|| word.strip_prefix(b"cap_"))
            .unwrap_or(word);
        let i = caps::NAMES
            .iter()
            .position(|n| n.as_bytes().eq_ignore_ascii_case(name))?;
        bits |= 1 << i;
    }
    Some(bits)
}

/// A range the kernel takes: not empty, and neither side reaching id
/// 4294967295 (user_namespaces(7)).
fn range_ok(r: &IdRange) -> bool {
    let end = |start: u32| u64::from(start) + u64::from(r.count);
    r.count > 0 && end(r.inside) <= u64::from(u32::MAX) && end(r.outside) <= u64::from(u32::MAX)
}

/// Whether two ranges share an id inside or outside: the kernel refuses
/// such a map (mappings_overlap in kernel/user_namespace.c).
fn overlap(a: &IdRange, b: &IdRange) -> bool {
    let meet = |x: u32, y: u32| {
        let (x, y) = (u64::from(x), u64::from(y));
        x < y + u64::from(b.count) && y < x + u64::from(a.count)
    };
    meet(a.inside, b.inside) || meet(a.outside, b.outside)
}

/// A node path inside for `--device`: `/dev/` and then names that are
/// not empty, `.` or `..`, the first not pts, shm or mqueue.
fn device_path(p: &[u8]) -> bool {
    let Some(rest) = p.strip_prefix(b"/dev/") else {
        return false;
    };
    let names: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
    let special = [&b"pts"[..], b"shm", b"mqueue"].contains(&names[0]);
    !special
        && names
            .iter()
            .all(|n| !n.is_empty() && *n != b"." && *n != b"..")
}

/// `--device` permissions: r, w and m, each at most once, at least one;
/// as bits r=2, w=4, m=1 (the device cgroup's).
fn device_letters(l: &[u8]) -> Option<u8> {
    let count = |letter: u8| l.iter().filter(|&&b| b == letter).count();
    let (r, w, m) = (count(b'r'), count(b'w'), count(b'm'));
    if l.is_empty() || r + w + m != l.len() || r > 1 || w > 1 || m > 1 {
        return None;
    }
    Some(2 * r as u8 + 4 * w as u8 + m as u8)
}

fn split_once(v: &[u8], at: u8) -> Option<(&[u8], &[u8])> {
    let i = v.iter().position(|&b| b == at)?;
    Some((&v[..i], &v[i + 1..]))
}
