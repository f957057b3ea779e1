//! Link options of `pmtui-bench-child`: position-dependent (`-no-pie`), so that the loader
//! relocates none of its data at each start (see `src/child.rs` for why its start matters).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo:rustc-link-arg-bin=pmtui-bench-child=-no-pie");
    }
}
