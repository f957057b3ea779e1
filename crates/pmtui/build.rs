//! Link options of the `pmtui` and `pmtui-daemon` executables.
//!
//! `-z pack-relative-relocs` stores the position-independent executable's relative
//! relocations as DT_RELR (a bitmap, a few KiB) instead of a `.rela.dyn` table of 24 bytes
//! per pointer (about 460 KiB for the daemon): the loader reads the whole table at every
//! start, so its pages stay resident for the daemon's life and count in its RSS. The
//! executable then needs a C library with DT_RELR (glibc 2.36+, version
//! `GLIBC_ABI_DT_RELR`), so the option is given only when the glibc linked against has it
//! and the build is not a cross build: a build runs where it was built, as before.
//!
//! `--symbol-ordering-file=daemon-symbol-order.txt` (release builds of `pmtui-daemon`
//! linked by rustc's default `rust-lld`) puts the functions the daemon runs at start, idle
//! and for the common verbs side by side at the start of `.text`. The kernel maps an
//! executable's pages 64 KiB at a time around each first touch, so with the linker's
//! default order those ~1,500 functions, scattered over 6 MiB of code, kept ~4 MiB of it
//! resident; grouped, about 0.6 MiB. Names missing from the list (code changed since it
//! was made) are skipped silently: the binary is the same, only its layout is worse.
//! `tools/daemon-order/README.md` says how to remake the list. Another linker (a
//! `linker` or `-fuse-ld` set in RUSTFLAGS or `CARGO_TARGET_*_LINKER`) may not know the
//! option, so it is given only to rust-lld; `PMTUI_NO_SYMBOL_ORDER=1` leaves it out.
//!
//! `pmtui` (the command line and the UI, not the daemon) links as a position-dependent
//! executable (`-no-pie`): a position-independent one has its ~480 KiB of `.data.rel.ro`
//! (vtables, tables of string slices) relocated by the loader at every start, a copy-on-write
//! page fault per 4 KiB page, about 110 of them, 0.4 ms of each `pmtui ls` on a VM where a
//! fault costs several microseconds. Linked at a fixed address, those pages are read from the
//! file, 64 KiB around each first touch, and only when used. The price is ASLR for the
//! executable's own code and data (its libraries, heap and stack stay randomised), as Go
//! builds its executables by default; the daemon, which lives long and serves requests,
//! stays position-independent. `PMTUI_PIE=1` builds a position-independent `pmtui`.

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
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("PMTUI_PIE").is_empty() {
        println!("cargo:rustc-link-arg-bin=pmtui=-no-pie");
    }
    for name in [
        "PMTUI_PIE",
        "PMTUI_NO_SYMBOL_ORDER",
        "PMTUI_DAEMON_LINK_MAP",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    if var("PROFILE") == "release"
        && rust_lld_links(&var)
        && var("PMTUI_NO_SYMBOL_ORDER").is_empty()
    {
        let order = format!("{}/daemon-symbol-order.txt", var("CARGO_MANIFEST_DIR"));
        println!("cargo:rerun-if-changed={order}");
        println!(
            "cargo:rustc-link-arg-bin=pmtui-daemon=-Wl,--symbol-ordering-file={order},--no-warn-symbol-ordering"
        );
        // The link map remaking the list reads (symbol names of each input section).
        let map = var("PMTUI_DAEMON_LINK_MAP");
        if !map.is_empty() {
            println!("cargo:rustc-link-arg-bin=pmtui-daemon=-Wl,--no-demangle,-Map={map}");
        }
    }
}

/// Whether rustc links with its own `rust-lld` (its default for x86_64-unknown-linux-gnu
/// since Rust 1.90; this workspace needs 1.95), i.e. no other linker was asked for.
fn rust_lld_links(var: &dyn Fn(&str) -> String) -> bool {
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
        && !flags.contains("linker")
        && !flags.contains("link-self-contained")
        && !flags.contains("fuse-ld")
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
