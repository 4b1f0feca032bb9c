//! Host tooling for box: `cargo xtask …` (build, initramfs, qemu, bench).

fn main() {
    eprintln!("xtask: not implemented yet");
    std::process::exit(2);
}
