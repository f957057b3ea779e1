//! `pmtui-bench-child`: the programs the benchmarks supervise (see `child.rs`), as a small
//! executable of their own so that their start costs the samples as little as it can.

#[path = "../child.rs"]
mod child;

fn main() -> std::process::ExitCode {
    let started = child::now_ns();
    child::main(started, std::env::args_os().skip(1))
}
