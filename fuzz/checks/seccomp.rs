//! Checks of the OCI seccomp compiler (src/oci/seccomp.rs), shared by the
//! fuzz target `seccomp` and the unit tests of src/oci/seccomp.rs, which
//! include this file.
//!
//! A profile is parsed and compiled; then the program is run by a
//! classic-BPF interpreter on many syscalls (every number the profile
//! names and its neighbours, arguments at, around and away from every
//! compared value) and must answer what a direct reading of the rules
//! answers (the model: the first rule naming the number whose comparisons
//! hold, else the default). Other ABIs are killed. The program stays
//! within the kernel's checks: forward jumps inside it, a return at its
//! end, loads of aligned words of seccomp_data.

use core::mem::size_of;

use linux_raw_sys::ptrace::{
    BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_K, BPF_LD, BPF_RET,
    BPF_W, SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS, seccomp_data, sock_filter,
};

use crate::oci::Reader;
use crate::oci::seccomp::{Arch, Profile, Program, compile, parse};

/// Run `program` on one syscall; the action and the instructions it took.
/// Panics on what the kernel's checker would refuse.
pub fn run(program: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
    let mut data = [0u8; size_of::<seccomp_data>()];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, arg) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
    }
    let mut a = 0u32;
    let mut pc = 0;
    let mut steps = 0;
    loop {
        assert!(pc < program.len(), "ran off the program's end");
        let insn = program[pc];
        steps += 1;
        pc += 1;
        let code = u32::from(insn.code);
        if code == BPF_LD | BPF_W | BPF_ABS {
            let at = insn.k as usize;
            assert!(at % 4 == 0 && at + 4 <= data.len(), "load at {at}");
            a = u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
        } else if code == BPF_ALU | BPF_AND | BPF_K {
            a &= insn.k;
        } else if code == BPF_RET | BPF_K {
            return (insn.k, steps);
        } else if code == BPF_JMP | BPF_JA {
            pc += insn.k as usize;
        } else {
            let taken = match code & !BPF_K {
                c if c == BPF_JMP | BPF_JEQ => a == insn.k,
                c if c == BPF_JMP | BPF_JGE => a >= insn.k,
                c if c == BPF_JMP | BPF_JGT => a > insn.k,
                _ => panic!("unexpected instruction {code:#x} at {}", pc - 1),
            };
            pc += usize::from(if taken { insn.jt } else { insn.jf });
        }
    }
}

/// The profile's meaning, read directly from its rules: `naming` are
/// the rules that name the syscall, in order.
fn model_of(profile: &Profile, naming: &[usize], args: [u64; 6]) -> u32 {
    for &i in naming {
        let rule = &profile.rules[i];
        let conditions = profile.conditions_of(rule);
        let holds = |c: &crate::oci::seccomp::Condition| c.holds(args[usize::from(c.index)]);
        let matched = if conditions.is_empty() {
            true
        } else if rule.any {
            conditions.iter().any(holds)
        } else {
            conditions.iter().all(holds)
        };
        if matched {
            return rule.action;
        }
    }
    profile.default_action
}

/// Parse `json` (a `linux.seccomp` object) for `arch`.
pub fn parse_profile(json: &[u8], arch: &Arch, profile: &mut Profile) -> crate::error::Result<()> {
    let mut r = Reader::new(json);
    parse(&mut r, arch.table, profile)?;
    r.with(crate::oci::json::Parser::end)
}

/// What a profile compiled to, for the tests' reports.
pub struct Compiled {
    pub instructions: usize,
    /// Most instructions a probed syscall took.
    pub most_steps: usize,
    /// The same, for syscalls whose answer does not depend on arguments.
    pub most_plain_steps: usize,
}

/// Parse, compile and check `json` for `arch`; `None` when it is refused.
pub fn check_profile(json: &[u8], arch: &Arch) -> Option<Compiled> {
    let mut profile = Box::new(Profile::new());
    parse_profile(json, arch, &mut profile).ok()?;
    let mut program = Box::new(Program::new());
    if let Err(e) = compile(&mut profile, arch, &mut program) {
        let message = e.to_string();
        assert!(
            message.contains("ranges") || message.contains("instructions"),
            "compile: {message}"
        );
        return None;
    }
    let insns = program.instructions();
    check_shape(insns);

    let mut numbers: Vec<u32> = vec![0, 1, 0x3fff_ffff, 0xf_0000, 0xf_0002, 0xf_ffff];
    for nr in profile.named() {
        numbers.extend([nr.saturating_sub(1), nr, nr + 1]);
    }
    numbers.sort_unstable();
    numbers.dedup();
    let (mut most_steps, mut most_plain_steps) = (0, 0);
    for &nr in &numbers {
        let naming: Vec<usize> = (0..profile.rules.len())
            .filter(|&i| profile.names(i, nr))
            .collect();
        for args in &argument_vectors(&profile, &naming) {
            let (got, steps) = run(insns, arch.audit, nr, *args);
            most_steps = most_steps.max(steps);
            let plain = naming.iter().all(|&i| profile.rules[i].count == 0);
            if plain {
                most_plain_steps = most_plain_steps.max(steps);
            }
            let want = model_of(&profile, &naming, *args);
            assert_eq!(
                got, want,
                "syscall {nr}, arguments {args:x?}: {got:#x}, not {want:#x}"
            );
        }
    }
    // Another ABI, and x32 on x86_64, are killed; -1 reaches the kernel.
    for foreign in [0, 0x4000_0003, 0xc000_003e, 0xc000_00b7, 0x4000_0028] {
        if foreign != arch.audit {
            assert_eq!(run(insns, foreign, 0, [0; 6]).0, SECCOMP_RET_KILL_PROCESS);
        }
    }
    if arch.x32_bit {
        assert_eq!(
            run(insns, arch.audit, 0x4000_0001, [0; 6]).0,
            SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(
            run(insns, arch.audit, u32::MAX, [0; 6]).0,
            SECCOMP_RET_ALLOW
        );
    }
    Some(Compiled {
        instructions: insns.len(),
        most_steps,
        most_plain_steps,
    })
}

/// Argument vectors at, around and away from every compared value.
/// Only the comparisons of the rules `naming` the syscall count.
fn argument_vectors(profile: &Profile, naming: &[usize]) -> Vec<[u64; 6]> {
    let conditions: Vec<_> = naming
        .iter()
        .flat_map(|&i| profile.conditions_of(&profile.rules[i]).iter().copied())
        .collect();
    if conditions.is_empty() {
        return vec![[0; 6], [u64::MAX; 6], [1, 2, 3, 4, 5, 6]];
    }
    let mut values = vec![0u64, 1, u64::MAX, 0xffff_ffff, 0x1_0000_0000];
    for c in &conditions {
        for v in [
            c.value,
            c.value_two,
            c.value & c.value_two,
            c.value | c.value_two,
        ] {
            values.extend([v, v.wrapping_sub(1), v.wrapping_add(1), v ^ (1 << 32), !v]);
        }
    }
    values.sort_unstable();
    values.dedup();
    let mut vectors = vec![[0u64; 6], [u64::MAX; 6]];
    // Each value in each argument, and pairs of values in the arguments
    // that comparisons use.
    for (k, &v) in values.iter().enumerate() {
        for i in 0..6 {
            let mut args = [0u64; 6];
            args[i] = v;
            args[(i + 2) % 6] = values[(k * 7 + i) % values.len()];
            vectors.push(args);
        }
    }
    for c in &conditions {
        for d in &conditions {
            if c.index != d.index {
                let mut args = [0u64; 6];
                args[usize::from(c.index)] = c.value;
                args[usize::from(d.index)] = d.value;
                vectors.push(args);
            }
        }
    }
    vectors.sort_unstable();
    vectors.dedup();
    vectors
}

/// What the kernel's checker (and box's own rules) require.
fn check_shape(insns: &[sock_filter]) {
    assert!(!insns.is_empty() && insns.len() <= 4096);
    for (i, insn) in insns.iter().enumerate() {
        let code = u32::from(insn.code);
        if code & 0x07 == BPF_JMP {
            let far = if code == BPF_JMP | BPF_JA {
                insn.k as usize
            } else {
                usize::from(insn.jt.max(insn.jf))
            };
            assert!(i + 1 + far < insns.len(), "jump out at {i}");
        }
    }
    let last = insns[insns.len() - 1];
    assert_eq!(u32::from(last.code), BPF_RET | BPF_K, "ends in a return");
}

/// A pseudo-random profile from `bytes` (the fuzzer's input, or the unit
/// tests' generator), as JSON. Names come from `arch`'s table and a few
/// that no architecture has.
pub fn profile_from_bytes(bytes: &[u8], arch: &Arch) -> String {
    let mut input = bytes.iter().copied();
    let mut byte = move || input.next().unwrap_or(0);
    let names: Vec<&str> = arch.table.entries().map(|(n, _)| n).collect();
    let actions = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_KILL_THREAD",
    ];
    let ops = [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    let value = |byte: &mut dyn FnMut() -> u8| -> u64 {
        match byte() % 6 {
            0 => u64::from(byte()),
            1 => u64::from(byte()) << 32 | u64::from(byte()),
            2 => u64::MAX - u64::from(byte()),
            3 => 0xffff_ffff,
            4 => 1u64 << (byte() % 64),
            _ => {
                let mut v = 0u64;
                for _ in 0..8 {
                    v = v << 8 | u64::from(byte());
                }
                v
            }
        }
    };
    let default = actions[usize::from(byte()) % actions.len()];
    let mut json = format!("{{\"defaultAction\": \"{default}\"");
    if default.contains("ERRNO") && byte() % 2 == 0 {
        json += &format!(", \"defaultErrnoRet\": {}", byte());
    }
    json += ", \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_AARCH64\"], \"syscalls\": [";
    let rules = usize::from(byte() % 24);
    for r in 0..rules {
        if r > 0 {
            json += ", ";
        }
        json += "{\"names\": [";
        let count = 1 + usize::from(byte() % 40);
        // Runs of neighbouring numbers, as real profiles have.
        let mut at = usize::from(byte()) * 2;
        for n in 0..count {
            if n > 0 {
                json += ", ";
            }
            at = if byte() % 4 == 0 {
                usize::from(byte()) * 2
            } else {
                at + 1
            };
            let name = if byte() % 16 == 0 {
                "no_such_call"
            } else {
                names[at % names.len()]
            };
            json += &format!("\"{name}\"");
        }
        let action = actions[usize::from(byte()) % actions.len()];
        json += &format!("], \"action\": \"{action}\"");
        if (action.contains("ERRNO") || action.contains("TRACE")) && byte() % 2 == 0 {
            json += &format!(", \"errnoRet\": {}", byte() % 200);
        }
        if byte() % 3 == 0 {
            json += ", \"args\": [";
            for a in 0..1 + byte() % 3 {
                if a > 0 {
                    json += ", ";
                }
                let op = ops[usize::from(byte()) % ops.len()];
                let index = byte() % 6;
                json += &format!(
                    "{{\"index\": {index}, \"value\": {}, \"valueTwo\": {}, \"op\": \"{op}\"}}",
                    value(&mut byte),
                    value(&mut byte)
                );
            }
            json += "]";
        }
        json += "}";
    }
    json += "]}";
    json
}
