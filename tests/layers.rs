//! The layers of box's source, checked: which module may use which.
//!
//! ```text
//!   applet      the programs: box run, exec, ps…, unshare, nsenter…
//!   board       the board's PID 1: boot, services, shutdown
//!   spec  oci   spec files, the OCI runtime
//!   container   one container's life: plan, clone, child, rootfs
//!   state  cgroup  devices   what a container has on the host
//!   config  args  options  mountinfo  seccomp  out    parsed input, tables
//!   sys         the kernel interface (the only `unsafe`)
//!   error  text the small error type, fixed-capacity text
//! ```
//!
//! A module uses modules of its own layer or below, never above, and the
//! graph of top-level modules has no cycle. Applets share code only
//! through `applet::util_linux`, never by importing one another. The graph
//! is read from the source: every `crate::NAME` path outside comments and
//! unit tests (a `use` line or inline).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom layer first. A top-level module missing here fails the test:
/// place it.
const LAYERS: &[&[&str]] = &[
    &["text", "packed"],
    &["error"],
    &["sys"],
    &["out", "args", "options", "mountinfo", "seccomp", "config"],
    &["state", "cgroup", "devices"],
    &["container"],
    &["spec", "oci"],
    &["board"],
    &["applet"],
];

/// Modules that only tests compile.
const TEST_ONLY: &[&str] = &["test_rng"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules, from the `mod NAME;` lines of the library's
/// root (src/main.rs, the binary, declares none).
fn top_level_modules() -> BTreeSet<String> {
    let text = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    text.lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .filter_map(|l| l.strip_suffix(';'))
        .map(String::from)
        .filter(|m| !TEST_ONLY.contains(&m.as_str()))
        .collect()
}

/// Every .rs file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/applet/run.rs` is `["applet", "run"]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "main" | "lib")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its unit tests (the
/// `#[cfg(test)] mod tests` at its end), which may use anything.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string literal ("http://") cuts a line that
            // names no module anyway.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths below `crate::` a piece of code names: `crate::a::b` gives
/// `[a, b]`, `use crate::{a::b, c}` gives `[a, b]` and `[c]`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        // `$crate::` in macros, or a longer name ending in "crate".
        if before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                paths.push(path_words(item.trim()));
            }
        } else {
            paths.push(path_words(rest));
        }
    }
    paths
}

fn path_words(text: &str) -> Vec<String> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    text[..end]
        .split("::")
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Edges between modules at `depth` (1: top level; 2: `applet::run`…),
/// each with a file that makes it.
fn graph(depth: usize) -> BTreeMap<(String, String), PathBuf> {
    let modules = top_level_modules();
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut edges = BTreeMap::new();
    for file in files {
        let from = module_of(&file);
        if from.is_empty() || !modules.contains(&from[0]) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for to in crate_paths(&code(&text)) {
            if to.is_empty() || !modules.contains(&to[0]) {
                continue;
            }
            let key = |p: &[String]| p[..p.len().min(depth)].join("::");
            let (a, b) = (key(&from), key(&to));
            if a != b {
                edges.entry((a, b)).or_insert_with(|| file.clone());
            }
        }
    }
    edges
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

#[test]
fn every_module_has_a_layer() {
    for module in top_level_modules() {
        assert!(layer(&module).is_some(), "src/{module}: add it to LAYERS");
    }
}

#[test]
fn no_module_uses_one_above_it() {
    let mut wrong = Vec::new();
    for ((from, to), file) in graph(1) {
        if let (Some(a), Some(b)) = (layer(&from), layer(&to))
            && b > a
        {
            wrong.push(format!("{from} uses {to} ({})", file.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_cycle_between_top_level_modules() {
    let edges = graph(1);
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    // Depth-first search from each module for a path back to itself.
    for &start in next.keys() {
        let mut stack = vec![(start, vec![start])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for &to in next.get(at).into_iter().flatten() {
                let mut longer = path.clone();
                longer.push(to);
                assert!(to != start, "a cycle: {}", longer.join(" -> "));
                if seen.insert(to) {
                    stack.push((to, longer));
                }
            }
        }
    }
}

/// What more than one applet needs lives below them or in
/// applet::util_linux; an applet importing another would make changing
/// one a change to both.
#[test]
fn applets_do_not_use_each_other() {
    let mut wrong = Vec::new();
    for ((from, to), file) in graph(2) {
        let (Some(a), Some(b)) = (from.strip_prefix("applet::"), to.strip_prefix("applet::"))
        else {
            continue;
        };
        if b != "util_linux" && a != b {
            wrong.push(format!("{from} uses {to} ({})", file.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The checks above read the source as intended.
#[test]
fn paths_are_read_from_use_lines_and_inline() {
    let text =
        "use crate::a::b;\nuse crate::{c, d::e};\nlet x = crate::f::g(); // crate::h\n$crate::i::j";
    let paths = crate_paths(&code(text));
    let firsts: Vec<&str> = paths.iter().map(|p| p[0].as_str()).collect();
    assert_eq!(firsts, ["a", "c", "d", "f"]);
    assert_eq!(module_of(&src().join("applet/run.rs")), ["applet", "run"]);
    assert_eq!(module_of(&src().join("sys/mod.rs")), ["sys"]);
}
