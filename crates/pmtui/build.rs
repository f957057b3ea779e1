//! Link options of the `pmtui` and `pmtui-daemon` executables.
//!
//! `-z pack-relative-relocs` stores the position-independent executable's relative
//! relocations as DT_RELR (a bitmap, a few KiB) instead of a `.rela.dyn` table of 24 bytes
//! per pointer (about 460 KiB for the daemon): the loader reads the whole table at every
//! start, so its pages stay resident for the daemon's life and count in its RSS. The
//! executable then needs a C library with DT_RELR (glibc 2.36+, version
//! `GLIBC_ABI_DT_RELR`), so the option is given only when the glibc linked against has it
//! and the build is not a cross build: a build runs where it was built, as before.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    if native
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && glibc_has_dt_relr()
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the `libc.so.6` the C compiler links against defines `GLIBC_ABI_DT_RELR`.
fn glibc_has_dt_relr() -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc).arg("-print-file-name=libc.so.6").output() else {
        return false;
    };
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // An unknown file name is printed back as given: not a path, nothing to read.
    if !out.status.success() || !path.starts_with('/') {
        return false;
    }
    println!("cargo:rerun-if-changed={path}");
    std::fs::read(&path).is_ok_and(|bytes| {
        bytes
            .windows(b"GLIBC_ABI_DT_RELR".len())
            .any(|w| w == b"GLIBC_ABI_DT_RELR")
    })
}
