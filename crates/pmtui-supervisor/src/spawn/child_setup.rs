//! What a child does between `fork` and `exec`, the daemon's own descriptor table at its
//! start, and its thread's time slice while a child execs ([`ShortSlice`]): all of pmtui's
//! `unsafe` code but a prefetch hint (`pmtui_proto::info_json`).
//!
//! Everything a step needs is prepared in the parent (fds opened, values computed, buffers
//! allocated); the code that runs in the child only makes async-signal-safe system calls:
//! no allocation, no locks, no `std::env`. Each step is a field of [`ChildSetup`] so that the
//! features that need one (fd limits, listening sockets, cgroups, uid/gid) share this
//! one audited place instead of each adding its own `pre_exec`.
//!
//! Two ways to start a child: [`ChildSetup::clone_into`], the usual one, and `install` on a
//! `std::process::Command` where `clone3` is refused (fork, then the steps in `pre_exec`;
//! in cgroup mode the child writes itself into its cgroup's `cgroup.procs`). `clone_into`
//! is `clone3`, with `CLONE_INTO_CGROUP` in cgroup mode, so the child is born in its cgroup
//! (nothing it forks is ever outside) without the migration that cost each spawn
//! milliseconds (moving a task takes the cgroup threadgroup lock, which waits for an RCU
//! grace period); the child then does what `Command` does (stdio, process group, cwd) and
//! the same steps, and execs.
#![allow(unsafe_code)]

use nix::libc::{self, c_char};
use nix::sys::resource::{Resource, rlim_t, setrlimit};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{Gid, Uid, chdir, setgid, setgroups, setuid, write};
use std::ffi::{CString, OsStr};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Closes every descriptor from 3 up: what the daemon inherited from whatever started it
/// (a shell's saved descriptors, a CI runner's pipes). Kept, they would go on to every
/// child (those without `O_CLOEXEC`), and a pipe's write end held by the daemon for its
/// whole life keeps the reader at the other end, such as `$(…)` or a CI step, waiting for
/// an end of file that never comes. The daemon is given nothing at 3 and up on purpose.
///
/// Must run before the process opens anything it keeps (first thing in the daemon's main):
/// closing by number would otherwise close a descriptor something else owns.
pub(crate) fn close_inherited() {
    // SAFETY: close_range(2) of 3 and up, with no flag; per the contract above, no
    // descriptor from 3 up is owned by anything in this process yet.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            0,
        )
    };
    if ret == 0 {
        return;
    }
    // Before Linux 5.9, the ones /proc/self/fd lists. The listing's own descriptor is among
    // them, closed by the time they are: its EBADF is harmless, as nothing opens another
    // one meanwhile.
    let open: Vec<RawFd> = match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd: &RawFd| fd >= 3)
            .collect(),
        Err(_) => return,
    };
    for fd in open {
        // SAFETY: as above, nothing owns these numbers.
        unsafe { libc::close(fd) };
    }
}

/// Where passed fds begin in the child (systemd's `SD_LISTEN_FDS_START`).
pub(crate) const FIRST_PASSED_FD: RawFd = 3;

/// The identity to take, prepared in the parent (see `credentials.rs`).
#[derive(Debug)]
pub(crate) struct Identity {
    pub groups: Vec<Gid>,
    pub gid: Gid,
    /// `None` keeps the daemon's user.
    pub uid: Option<Uid>,
    /// The working directory, entered again once the identity is taken: the spawn fails
    /// (EACCES) if the user cannot enter it, instead of the app starting in a directory it
    /// cannot read.
    pub cwd: CString,
}

/// Steps applied in the child before exec, in field order. `exec`, when set, is last.
#[derive(Debug, Default)]
pub(crate) struct ChildSetup {
    /// `RLIMIT_NOFILE` (soft, hard) to put back: the daemon raises its own soft limit, but
    /// programs that use `select()` break with fds ≥ 1024, so children get what the daemon
    /// inherited (as systemd does for its services).
    pub nofile: Option<(rlim_t, rlim_t)>,
    /// The umask to put back: the daemon's own (077) keeps its files private, apps get
    /// the one the daemon inherited.
    pub umask: Option<Mode>,
    /// The `cgroup.procs` file of the process's cgroup, opened in the parent (close-on-exec):
    /// the child writes "0" (itself) into it, so it is inside before the program runs and
    /// everything it forks is born inside. Before the identity change: moving needs the
    /// daemon's rights.
    pub cgroup_procs: Option<OwnedFd>,
    /// Supplementary groups, group and user (in that order: each needs root until the last),
    /// after every step that needs the daemon's privileges.
    pub identity: Option<Identity>,
    /// Daemon fds the child gets at 3, 4, … in this order: the listening sockets first
    /// (`LISTEN_FDS` counts them), then any other channel a feature passes after them. Each
    /// is close-on-exec in the daemon; the child's copies are not. The caller keeps the
    /// daemon's fds open until `spawn` returns.
    pub pass_fds: Vec<RawFd>,
    /// Run the program from here with an environment built in the parent, so that
    /// `LISTEN_PID` can carry the child's own pid (known only after fork).
    pub exec: Option<ExecPlan>,
}

/// An `execve` prepared in the parent: the resolved program, its argv and envp as C strings
/// with their pointer arrays, and entries like `LISTEN_PID=` and `WATCHDOG_PID=` with room
/// for the digits, which the child writes in place. Pointers are stored as integers (the heap buffers they point into
/// never move once built) so the plan can cross into the `pre_exec` closure.
#[derive(Debug)]
pub(crate) struct ExecPlan {
    path: CString,
    _argv: Vec<CString>,
    _env: Vec<CString>,
    /// `NAME=` then up to 10 digits and a NUL, one per variable that carries the child's own
    /// pid; all zero bytes after `=` until written. With the length of `NAME=`.
    pid_entries: Vec<(usize, Vec<u8>)>,
    argv_ptrs: Vec<usize>,
    env_ptrs: Vec<usize>,
    /// What exec(3)'s `p` functions do for a file without a `#!` line (ENOEXEC): run it with
    /// `/bin/sh`.
    sh: CString,
    sh_argv_ptrs: Vec<usize>,
}

/// Digits of the largest pid (2^22 on Linux; u32 has at most 10) and the NUL after them.
const PID_ROOM: usize = 11;

impl ExecPlan {
    /// Prepares `path argv…` (argv[0] included) with `env` plus `<var>=<child pid>` for each
    /// of `pid_vars` (`LISTEN_PID`, `WATCHDOG_PID`).
    pub(crate) fn new<'a>(
        path: &Path,
        argv: &[&OsStr],
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
        pid_vars: &[&str],
    ) -> std::io::Result<Self> {
        let c = |bytes: &[u8]| {
            CString::new(bytes).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "an argument or variable contains a NUL byte",
                )
            })
        };
        let path = c(path.as_os_str().as_bytes())?;
        let argv: Vec<CString> = argv
            .iter()
            .map(|a| c(a.as_bytes()))
            .collect::<Result<_, _>>()?;
        // `NAME=value` built in one allocation each (with room for the NUL).
        let entry = |(k, v): (&str, &str)| {
            let mut bytes = Vec::with_capacity(k.len() + v.len() + 2);
            bytes.extend_from_slice(k.as_bytes());
            bytes.push(b'=');
            bytes.extend_from_slice(v.as_bytes());
            CString::new(bytes).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "an argument or variable contains a NUL byte",
                )
            })
        };
        let env: Vec<CString> = env
            .into_iter()
            .filter(|(k, _)| !pid_vars.contains(k))
            .map(entry)
            .collect::<Result<_, _>>()?;
        let pid_entries: Vec<(usize, Vec<u8>)> = pid_vars
            .iter()
            .map(|var| {
                let mut entry = format!("{var}=").into_bytes();
                let prefix = entry.len();
                entry.resize(prefix + PID_ROOM, 0);
                (prefix, entry)
            })
            .collect();
        let ptrs = |strings: &[CString]| -> Vec<usize> {
            strings
                .iter()
                .map(|s| s.as_ptr() as usize)
                .chain(std::iter::once(0))
                .collect()
        };
        let argv_ptrs = ptrs(&argv);
        let mut env_ptrs = ptrs(&env);
        for (_, entry) in &pid_entries {
            env_ptrs.insert(env_ptrs.len() - 1, entry.as_ptr() as usize);
        }
        let sh = c(b"/bin/sh")?;
        let sh_argv_ptrs: Vec<usize> = std::iter::once(sh.as_ptr() as usize)
            .chain(std::iter::once(path.as_ptr() as usize))
            .chain(argv.iter().skip(1).map(|s| s.as_ptr() as usize))
            .chain(std::iter::once(0))
            .collect();
        Ok(Self {
            path,
            _argv: argv,
            _env: env,
            pid_entries,
            argv_ptrs,
            env_ptrs,
            sh,
            sh_argv_ptrs,
        })
    }

    /// In the child: writes its pid into the pid entries and execs. Returns only on failure.
    fn exec(&mut self) -> std::io::Error {
        let pid = nix::unistd::getpid().as_raw().unsigned_abs();
        let mut digits = [0u8; 10];
        let n = decimal(pid, &mut digits);
        for (start, entry) in &mut self.pid_entries {
            let start = *start;
            entry[start..start + n].copy_from_slice(&digits[10 - n..]);
            entry[start + n] = 0;
        }
        // SAFETY: every pointer points into a NUL-terminated buffer owned by `self`, built in
        // the parent and alive until exec; both arrays end with a null pointer. execve(2) is
        // async-signal-safe.
        unsafe {
            libc::execve(
                self.path.as_ptr(),
                self.argv_ptrs.as_ptr().cast::<*const c_char>(),
                self.env_ptrs.as_ptr().cast::<*const c_char>(),
            );
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENOEXEC) {
            // SAFETY: as above.
            unsafe {
                libc::execve(
                    self.sh.as_ptr(),
                    self.sh_argv_ptrs.as_ptr().cast::<*const c_char>(),
                    self.env_ptrs.as_ptr().cast::<*const c_char>(),
                );
            }
            return std::io::Error::last_os_error();
        }
        err
    }
}

/// `n` in decimal at the end of `out`; returns how many digits. No allocation.
fn decimal(mut n: u32, out: &mut [u8; 10]) -> usize {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return out.len() - i;
        }
    }
}

impl ChildSetup {
    fn is_empty(&self) -> bool {
        self.nofile.is_none()
            && self.umask.is_none()
            && self.cgroup_procs.is_none()
            && self.identity.is_none()
            && self.pass_fds.is_empty()
            && self.exec.is_none()
    }

    /// Installs the steps on `command` (nothing when there are none).
    pub(crate) fn install(self, command: &mut Command) {
        if self.is_empty() {
            return;
        }
        let mut setup = self;
        // Room for the temporary copies of the passed fds, allocated here, not in the child.
        let mut moved: Vec<RawFd> = Vec::with_capacity(setup.pass_fds.len());
        // SAFETY: the closure runs in the forked child before exec. It only makes system
        // calls (setrlimit, umask, write, setgroups, setgid, setuid, chdir, fcntl, dup2, close,
        // getpid, execve: thin wrappers, async-signal-safe in a child that has one thread) on values
        // and buffers prepared in the parent; nix passes the slice and the C string as they
        // are, and `moved` already has its capacity, so nothing is allocated and no lock is
        // taken.
        unsafe {
            command.pre_exec(move || {
                if let Some((soft, hard)) = setup.nofile {
                    setrlimit(Resource::RLIMIT_NOFILE, soft, hard)?;
                }
                if let Some(mask) = setup.umask {
                    umask(mask);
                }
                if let Some(procs) = &setup.cgroup_procs {
                    write(procs, b"0")?;
                }
                if let Some(identity) = &setup.identity {
                    setgroups(&identity.groups)?;
                    setgid(identity.gid)?;
                    if let Some(uid) = identity.uid {
                        setuid(uid)?;
                    }
                    chdir(identity.cwd.as_c_str())?;
                }
                if !setup.pass_fds.is_empty() {
                    pass_fds(&setup.pass_fds, &mut moved)?;
                }
                // Last: on success nothing after it runs.
                if let Some(plan) = setup.exec.as_mut() {
                    return Err(plan.exec());
                }
                Ok(())
            });
        }
    }
}

/// What the parent holds of a child started by [`ChildSetup::clone_into`]: its pid and the
/// read ends of its stdout and stderr pipes.
#[derive(Debug)]
pub(crate) struct Born {
    pub pid: u32,
    /// Its start time as `/proc/<pid>/stat` gives it, when the clone's timing tells it.
    pub start_time: Option<u64>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Why [`ChildSetup::clone_into`] started nothing.
#[derive(Debug)]
pub(crate) enum CloneError {
    /// The kernel (or a seccomp filter) refuses `clone3` or one of its flags: no child was
    /// made, the caller starts it the other way.
    Unsupported(std::io::Error),
    /// The child could not be started or set up (as `Command::spawn` fails: the errno of
    /// the step that failed, e.g. ENOENT for a missing program or working directory).
    Failed(std::io::Error),
}

/// `struct clone_args` of `<linux/sched.h>` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Handlers of the parent are reset to the default in the child (Linux 5.5); ignored
/// signals stay ignored, as across exec.
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
/// The child starts in the cgroup `CloneArgs::cgroup` names (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
const CLONE_FILES: u64 = libc::CLONE_FILES as u64;
/// `close_range(2)`'s flag: unshare the table first, copying only the numbers kept.
const CLOSE_RANGE_UNSHARE: libc::c_uint = 2;

/// What the child side needs, prepared in the parent.
struct Prepared<'a> {
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    /// The fds to pass at 3, 4, … (`pass_fds`, or the slots holding copies of them).
    passed: Vec<RawFd>,
    /// With the daemon's descriptor table shared (`CLONE_FILES`): the child first makes
    /// its own copy of the numbers below this one only (see [`Slots`]).
    unshare_below: Option<RawFd>,
    cwd: &'a std::ffi::CStr,
    /// The supplementary groups as the kernel takes them.
    groups: Vec<libc::gid_t>,
    moved: Vec<RawFd>,
    unblocked: libc::sigset_t,
}

impl ChildSetup {
    /// Starts the child with `clone3`, with `CLONE_INTO_CGROUP` into the cgroup whose
    /// directory `cgroup` is open on when there is one (group mode has none), stdin from
    /// /dev/null and stdout/stderr piped, in a new process group, in `cwd`; then the steps
    /// of this setup (`cgroup_procs` is not used: the child is born inside) and `plan`'s
    /// exec. Returns once the child has exec'd, or with the errno of the step that failed,
    /// read from a close-on-exec pipe (as `Command` does).
    ///
    /// On x86_64 with vfork semantics (`CLONE_VM | CLONE_VFORK`, as `posix_spawn` does): the
    /// child runs on a stack of its own in the daemon's memory, and this thread waits until
    /// it has exec'd or exited, so the daemon's page tables are never copied (a fork copied
    /// them at every start, and the child's exec then threw the copy away). Elsewhere plain
    /// fork semantics. Either way the child is not known to libc (no `fork()`), so it makes
    /// raw system calls only: notably the identity change goes to the kernel directly,
    /// since libc's `setuid` would try to reach the parent's other threads.
    pub(crate) fn clone_into(
        &mut self,
        cgroup: Option<std::os::fd::BorrowedFd<'_>>,
        cwd: &std::ffi::CStr,
        plan: &mut ExecPlan,
    ) -> Result<Born, CloneError> {
        use std::os::fd::AsRawFd;
        let failed = |err: nix::Error| CloneError::Failed(std::io::Error::from(err));
        let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
        let (out_r, out_w) = nix::unistd::pipe2(cloexec).map_err(failed)?;
        let (err_r, err_w) = nix::unistd::pipe2(cloexec).map_err(failed)?;
        let (report_r, report_w) = nix::unistd::pipe2(cloexec).map_err(failed)?;
        let mut sources = vec![
            NULL_STDIN,
            out_w.as_raw_fd(),
            err_w.as_raw_fd(),
            report_w.as_raw_fd(),
        ];
        sources.extend_from_slice(&self.pass_fds);
        let slots = Slots::fill(&sources);
        // Without slots, stdin is a /dev/null of its own (the slots keep one).
        let stdin: Option<OwnedFd> = match slots {
            Some(_) => None,
            None => {
                let null: OwnedFd = std::fs::File::open("/dev/null")
                    .map_err(CloneError::Failed)?
                    .into();
                sources[0] = null.as_raw_fd();
                Some(null)
            }
        };
        let (fds, unshare_below) = match &slots {
            Some(filled) => (&filled.slots.fds[..sources.len()], Some(filled.slots.bound)),
            None => (&sources[..], None),
        };
        let mut prepared = Prepared {
            stdin: fds[0],
            stdout: fds[1],
            stderr: fds[2],
            passed: fds[4..].to_vec(),
            unshare_below,
            cwd,
            groups: self
                .identity
                .as_ref()
                .map(|i| i.groups.iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default(),
            moved: Vec::with_capacity(self.pass_fds.len()),
            unblocked: *nix::sys::signal::SigSet::empty().as_ref(),
        };
        let report = fds[3];
        let share = if slots.is_some() { CLONE_FILES } else { 0 };
        let into = if cgroup.is_some() {
            CLONE_INTO_CGROUP
        } else {
            0
        };
        let mut args = CloneArgs {
            flags: into | CLONE_CLEAR_SIGHAND | share,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: cgroup.map_or(0, |dir| dir.as_raw_fd() as u64),
            ..CloneArgs::default()
        };
        #[cfg(target_arch = "x86_64")]
        let stack = vfork::Stack::take().map_err(CloneError::Failed)?;
        // No signal runs a handler in the child between the clone and the reset of its
        // handlers: this thread blocks them all around the clone (the child inherits the
        // mask, and unblocks once its handlers are the defaults).
        let all = nix::sys::signal::SigSet::all();
        let mut old = nix::sys::signal::SigSet::empty();
        nix::sys::signal::pthread_sigmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&all),
            Some(&mut old),
        )
        .map_err(failed)?;
        let mut start = ChildStart {
            setup: self,
            prepared: &mut prepared,
            plan,
            report,
        };
        // Around the clone: the child's start time, known without reading /proc.
        let before = crate::tree::boot_clock();
        let slice = ShortSlice::take();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: see `vfork::clone3`: the child runs `child_main` on `stack`, which holds
        // no Rust value, and this thread is suspended until it has exec'd or exited.
        let ret = unsafe { vfork::clone3(&mut args, &stack, &mut start) };
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: clone3 without CLONE_VM is fork: the child gets a copy of this process's
        // memory with this thread alone, and returns here with 0. It then runs only
        // `child_main`, which makes async-signal-safe system calls on what was prepared
        // above and ends in exec or `_exit`; it never returns into Rust code that could
        // allocate or take a lock another thread held at the clone.
        let ret = unsafe {
            let ret = libc::syscall(
                libc::SYS_clone3,
                &mut args as *mut CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            );
            if ret == 0 {
                child_main(std::ptr::from_mut(&mut start).cast());
            }
            ret
        };
        let clone_err = std::io::Error::last_os_error();
        drop(slice);
        // The child has exec'd or exited (or was never made): its stack is free again.
        #[cfg(target_arch = "x86_64")]
        stack.keep();
        let start_time = crate::tree::start_time_since(before);
        // The slots' copies go first: while one holds the report pipe's write end, the
        // read below would never see its end.
        drop(slots);
        let _ = nix::sys::signal::pthread_sigmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&old),
            None,
        );
        if ret < 0 {
            return Err(match clone_err.raw_os_error() {
                Some(
                    libc::ENOSYS | libc::EPERM | libc::EINVAL | libc::E2BIG | libc::EOPNOTSUPP,
                ) => CloneError::Unsupported(clone_err),
                _ => CloneError::Failed(clone_err),
            });
        }
        let pid = ret as libc::pid_t;
        // The parent's copies of the child's ends: the child's exec (or exit) then closes
        // the report pipe's last write end, and the log pumps see EOF when it exits.
        drop((stdin, out_w, err_w, report_w));
        let mut errno = [0u8; 4];
        let mut got = 0;
        while got < errno.len() {
            match nix::unistd::read(&report_r, &mut errno[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(nix::Error::EINTR) => {}
                Err(err) => {
                    got = 0;
                    tracing::warn!(%err, "cannot read a child's start report");
                    break;
                }
            }
        }
        if got == 0 {
            return Ok(Born {
                pid: pid as u32,
                start_time,
                stdout: out_r,
                stderr: err_r,
            });
        }
        // It failed before exec and exits: reaped here (the caller holds the reaper off).
        while let Err(nix::Error::EINTR) =
            nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None)
        {}
        let errno = if got == errno.len() {
            i32::from_ne_bytes(errno)
        } else {
            libc::EIO
        };
        Err(CloneError::Failed(std::io::Error::from_raw_os_error(errno)))
    }

    /// The child's side of `clone_into`: what `Command` does (signals, stdio, process group,
    /// cwd), then the steps, then exec. Returns the errno of the step that failed.
    fn child_side(&mut self, p: &mut Prepared<'_>, plan: &mut ExecPlan) -> i32 {
        let errno = || {
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO)
        };
        // SAFETY: thin system call wrappers on fds, C strings and buffers prepared in the
        // parent (see `Prepared`); each is async-signal-safe, none allocates.
        unsafe {
            // First of all, with the daemon's table shared: a table of its own, with the
            // numbers below the slots only (nothing before this touches a descriptor).
            if let Some(below) = p.unshare_below
                && libc::syscall(
                    libc::SYS_close_range,
                    below as libc::c_uint,
                    libc::c_uint::MAX,
                    CLOSE_RANGE_UNSHARE,
                ) != 0
            {
                return errno();
            }
            // As `Command` does: SIGPIPE back to the default (the Rust runtime ignores it,
            // and an ignored signal stays ignored across exec), nothing blocked.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            if libc::sigprocmask(libc::SIG_SETMASK, &p.unblocked, std::ptr::null_mut()) != 0 {
                return errno();
            }
            for (from, to) in [(p.stdin, 0), (p.stdout, 1), (p.stderr, 2)] {
                // dup2 onto itself keeps close-on-exec: cleared instead.
                let done = if from == to {
                    libc::fcntl(from, libc::F_SETFD, 0)
                } else {
                    libc::dup2(from, to)
                };
                if done < 0 {
                    return errno();
                }
            }
            if libc::setpgid(0, 0) != 0 || libc::chdir(p.cwd.as_ptr()) != 0 {
                return errno();
            }
            if let Some((soft, hard)) = self.nofile {
                let limit = libc::rlimit {
                    rlim_cur: soft,
                    rlim_max: hard,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return errno();
                }
            }
            if let Some(mask) = self.umask {
                libc::umask(mask.bits());
            }
            if let Some(identity) = &self.identity {
                // Raw system calls: libc's wrappers would signal the parent's threads.
                if libc::syscall(libc::SYS_setgroups, p.groups.len(), p.groups.as_ptr()) != 0
                    || libc::syscall(libc::SYS_setgid, identity.gid.as_raw()) != 0
                    || identity
                        .uid
                        .is_some_and(|uid| libc::syscall(libc::SYS_setuid, uid.as_raw()) != 0)
                    || libc::chdir(identity.cwd.as_ptr()) != 0
                {
                    return errno();
                }
            }
        }
        if !p.passed.is_empty()
            && let Err(err) = pass_fds(&p.passed, &mut p.moved)
        {
            return err.raw_os_error().unwrap_or(libc::EIO);
        }
        plan.exec().raw_os_error().unwrap_or(libc::EIO)
    }
}

/// Low descriptor numbers kept for the fds a child takes. A child made without
/// `CLONE_FILES` gets a copy of the daemon's whole descriptor table, which its exec then
/// closes: with 1,000 processes that is about 4,000 references taken and dropped per start
/// (the start of the 1,000th app cost milliseconds more than the first's, and 1,000 apps
/// from one file were quadratic). So the fds a child takes are copied into these slots,
/// the child shares the table (`CLONE_FILES`) and its first step makes a copy of its own
/// of the numbers below the slots' bound only (`close_range(bound, ~0,
/// CLOSE_RANGE_UNSHARE)`, Linux 5.9). Reserved when the supervisor starts, while the
/// numbers are low; a kernel without it, or a child that takes more fds than there are
/// slots, is started the plain way.
pub(crate) struct Slots {
    fds: [RawFd; SLOTS],
    /// One above the highest slot.
    bound: RawFd,
    /// /dev/null, put back into each slot after a start.
    null: OwnedFd,
}

/// Slots: stdin, stdout, stderr, the start report, and four passed fds (listening
/// sockets, Node's channel).
const SLOTS: usize = 8;
/// The lowest slot: above the child's stdio and the numbers the passed fds go to (3 to
/// 6), so that no `dup2` of the child's setup lands on a slot still to be read (the start
/// report above all), whatever the daemon had open when it reserved them.
const LOWEST_SLOT: RawFd = FIRST_PASSED_FD + SLOTS as RawFd;

static RESERVED: std::sync::OnceLock<Option<std::sync::Mutex<Slots>>> = std::sync::OnceLock::new();

/// In the sources given to [`Slots::fill`]: /dev/null, which an empty slot holds (no file
/// opened per start for the child's stdin).
const NULL_STDIN: RawFd = -1;

/// Slots filled for one start; emptied (back to /dev/null) when dropped.
struct Filled {
    slots: std::sync::MutexGuard<'static, Slots>,
    used: usize,
}

impl Slots {
    /// Reserves the slots (once; later calls do nothing).
    pub(crate) fn reserve() {
        RESERVED.get_or_init(Slots::new);
    }

    fn new() -> Option<std::sync::Mutex<Slots>> {
        use std::os::fd::AsRawFd;
        // SAFETY: close_range(2) of no fd (first = last = the largest number): it only
        // says whether the kernel knows the call, which came with its UNSHARE flag (5.9).
        // Not with the flag itself: in the daemon it would give this thread a table of its
        // own, apart from the other threads'.
        let known = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                libc::c_uint::MAX,
                libc::c_uint::MAX,
                0,
            )
        } == 0;
        if !known {
            tracing::debug!("close_range(CLOSE_RANGE_UNSHARE) unknown: children copy the fd table");
            return None;
        }
        let null: OwnedFd = std::fs::File::open("/dev/null").ok()?.into();
        let mut made: Vec<OwnedFd> = Vec::with_capacity(SLOTS);
        for _ in 0..SLOTS {
            // SAFETY: fcntl(2) on an open fd; the new fd is owned below.
            let fd = unsafe { libc::fcntl(null.as_raw_fd(), libc::F_DUPFD_CLOEXEC, LOWEST_SLOT) };
            if fd < 0 {
                return None;
            }
            // SAFETY: just made, owned by nothing else.
            made.push(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
        }
        let mut fds = [0; SLOTS];
        for (slot, fd) in fds.iter_mut().zip(made) {
            // Kept for the daemon's life.
            *slot = std::os::fd::IntoRawFd::into_raw_fd(fd);
        }
        let bound = fds.iter().max().copied().unwrap_or(0) + 1;
        Some(std::sync::Mutex::new(Slots { fds, bound, null }))
    }

    /// Copies `sources` into the slots; `None` (start the plain way) when there are too
    /// many, the slots are in use by another start, or a copy fails.
    fn fill(sources: &[RawFd]) -> Option<Filled> {
        if sources.len() > SLOTS {
            return None;
        }
        let slots = RESERVED.get_or_init(Slots::new).as_ref()?.try_lock().ok()?;
        if slots.bound < 0 {
            return None;
        }
        let mut filled = Filled { slots, used: 0 };
        for (i, source) in sources.iter().enumerate() {
            // An empty slot holds /dev/null already.
            // SAFETY: dup3(2) onto a slot this guard owns; close-on-exec, as the source.
            if *source != NULL_STDIN
                && unsafe { libc::dup3(*source, filled.slots.fds[i], libc::O_CLOEXEC) } < 0
            {
                return None;
            }
            filled.used = i + 1;
        }
        Some(filled)
    }
}

impl Drop for Filled {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        for i in 0..self.used {
            let slot = self.slots.fds[i];
            // SAFETY: dup3(2) of /dev/null onto a slot this guard owns: drops the slot's
            // reference to what the child took.
            if unsafe { libc::dup3(self.slots.null.as_raw_fd(), slot, libc::O_CLOEXEC) } < 0 {
                // The slot would keep a pipe open: close it rather (the number may then be
                // reused by anything, so the slots are given up).
                // SAFETY: close(2) of a slot this guard owns.
                unsafe { libc::close(slot) };
                tracing::warn!("a spawn slot could not be emptied; slots given up");
                self.slots.bound = -1;
            }
        }
    }
}

/// What the child of [`ChildSetup::clone_into`] gets: pointers into the parent's frame
/// (the same memory under vfork, a copy under fork).
struct ChildStart<'a, 'b> {
    setup: &'a mut ChildSetup,
    prepared: &'a mut Prepared<'b>,
    plan: &'a mut ExecPlan,
    /// The write end of the start report (close-on-exec).
    report: RawFd,
}

/// The child of [`ChildSetup::clone_into`]: its steps and exec; on failure the errno goes
/// to the report pipe and the child exits. Never returns.
///
/// # Safety
/// `start` points to a live [`ChildStart`], in a child made by `clone3` that runs nothing
/// else before exec.
unsafe extern "C" fn child_main(start: *mut libc::c_void) -> libc::c_int {
    // SAFETY: as the caller promises; nothing else uses it while the child runs (the
    // parent's thread is suspended, or has its own copy).
    let start = unsafe { &mut *start.cast::<ChildStart<'_, '_>>() };
    let errno = start.setup.child_side(start.prepared, start.plan);
    let bytes = errno.to_ne_bytes();
    // SAFETY: write(2) and _exit(2); async-signal-safe.
    unsafe {
        libc::write(start.report, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(127)
    }
}

/// The daemon thread's time slice while it waits for a child to exec (`clone_into`).
///
/// With vfork semantics the daemon thread sleeps until the child has exec'd; the child's
/// exec wakes it, and on a busy machine (say, the apps it just started, each in its
/// dynamic loader) it then waited for a CPU until the running task's slice ended: a
/// 1,000-app start on 2 cores spent 0.35 s of its 1 s in such waits. Linux 6.12's EEVDF
/// scheduler lets an ordinary thread ask for a shorter slice (`sched_runtime` with
/// `SCHED_OTHER`, no privilege needed), which makes its wake-ups preempt; its share of the
/// CPU stays what its nice value gives. Taken only around the clone, not for the daemon's
/// whole life: always on, it also made the log pumps preempt a flooding app sooner and
/// read less per wake-up (log capture 5-8 % slower). Older kernels ignore the field.
///
/// `SCHED_FLAG_RESET_ON_FORK` keeps the short slice from the child (it gets the default),
/// which would also reset a negative nice to 0 there: a thread with a negative nice, or
/// another policy, is left alone.
struct ShortSlice {
    /// What to put back when the short slice was taken: the thread's attributes before,
    /// with the default slice (the kernel reports the slice in force, not whether it was
    /// asked for, so a slice set by hand on the daemon would not survive a spawn).
    before: Option<SchedAttr>,
}

/// `struct sched_attr` of `<linux/sched/types.h>` (`SCHED_ATTR_SIZE_VER1`).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

/// The slice taken: 0.5 ms. The kernel's default is 0.7 ms times a factor that grows with
/// the number of CPUs (1.4 ms on 2); on 2 cores 0.5 ms did as well as the smallest
/// allowed (0.1 ms), 0.7 ms no better than the default.
const SHORT_SLICE_NS: u64 = 500_000;
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;

/// Set once the kernel showed it has no slices to ask for (no `sched_getattr`, or a
/// `SCHED_OTHER` thread reported without one, as before Linux 6.12): every later spawn then
/// skips the system calls instead of making three for nothing.
static NO_SLICES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl ShortSlice {
    fn take() -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        if NO_SLICES.load(Relaxed) {
            return Self { before: None };
        }
        let Some(before) = sched_attr() else {
            NO_SLICES.store(true, Relaxed);
            return Self { before: None };
        };
        if before.policy != libc::SCHED_OTHER as u32 || before.nice < 0 {
            return Self { before: None };
        }
        if before.runtime == 0 {
            NO_SLICES.store(true, Relaxed);
            return Self { before: None };
        }
        let short = SchedAttr {
            flags: before.flags | SCHED_FLAG_RESET_ON_FORK,
            runtime: SHORT_SLICE_NS,
            ..before
        };
        let taken = set_sched_attr(&short);
        Self {
            before: taken.then_some(SchedAttr {
                runtime: 0,
                ..before
            }),
        }
    }
}

impl Drop for ShortSlice {
    fn drop(&mut self) {
        if let Some(before) = self.before.take() {
            set_sched_attr(&before);
        }
    }
}

/// The calling thread's scheduling attributes.
fn sched_attr() -> Option<SchedAttr> {
    let mut attr = SchedAttr::default();
    // SAFETY: the kernel writes at most `size` bytes (the struct's) into `attr`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut SchedAttr,
            std::mem::size_of::<SchedAttr>() as libc::c_uint,
            0,
        )
    };
    (ret == 0).then_some(attr)
}

/// Sets the calling thread's scheduling attributes; false when refused.
fn set_sched_attr(attr: &SchedAttr) -> bool {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        ..*attr
    };
    // SAFETY: `attr` is a complete `struct sched_attr` whose `size` says how long it is;
    // the kernel only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    ret == 0
}

/// vfork semantics for `clone3` (x86_64): the child shares the daemon's memory until its
/// exec, on a stack of its own, and the calling thread waits meanwhile.
#[cfg(target_arch = "x86_64")]
mod vfork {
    use super::{CloneArgs, child_main};
    use nix::libc;

    const CLONE_VM: u64 = libc::CLONE_VM as u64;
    const CLONE_VFORK: u64 = libc::CLONE_VFORK as u64;
    /// The child's stack: `child_side` and the exec need a few KiB; a guard page below
    /// turns an overflow into the child's SIGSEGV instead of a write into the heap.
    const STACK: usize = 64 * 1024;
    const GUARD: usize = 4096;

    /// A private mapping for the child's stack, unmapped when dropped (after the child
    /// has exec'd or exited: it then no longer uses it).
    pub(super) struct Stack {
        base: *mut libc::c_void,
    }

    thread_local! {
        /// The stack of this thread's last child, for its next one.
        static SPARE: std::cell::Cell<Option<Stack>> = const { std::cell::Cell::new(None) };
    }

    impl Stack {
        /// A stack for the next child: this thread's spare, else a new one. A restart then
        /// costs no mmap, mprotect and munmap, nor faults on fresh pages (about 4 % of the
        /// daemon's work for a crash and restart). The spare's touched pages stay
        /// resident: one, 4 KiB, measured.
        pub(super) fn take() -> std::io::Result<Self> {
            match SPARE.take() {
                Some(stack) => Ok(stack),
                None => Self::new(),
            }
        }

        /// Keeps this stack as the thread's spare, once no child uses it.
        pub(super) fn keep(self) {
            drop(SPARE.replace(Some(self)));
        }

        fn new() -> std::io::Result<Self> {
            // SAFETY: a fresh anonymous mapping; nothing else refers to it.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    GUARD + STACK,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            let stack = Stack { base };
            // SAFETY: the lowest page of the mapping made above.
            if unsafe { libc::mprotect(base, GUARD, libc::PROT_NONE) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(stack)
        }
    }

    impl Drop for Stack {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, used by no one any more.
            unsafe { libc::munmap(self.base, GUARD + STACK) };
        }
    }

    /// `clone3(args)` with `CLONE_VM | CLONE_VFORK` added: the child starts on `stack` in
    /// `child_main(start)`, which never returns; here it returns the child's pid (once
    /// the child has exec'd or exited) or -1 with errno set.
    ///
    /// # Safety
    /// `start` must stay valid until this returns, and the child may touch only it, its
    /// stack and what they point to: it shares this process's memory, and every other
    /// thread keeps running.
    pub(super) unsafe fn clone3(
        args: &mut CloneArgs,
        stack: &Stack,
        start: &mut super::ChildStart<'_, '_>,
    ) -> libc::c_long {
        args.flags |= CLONE_VM | CLONE_VFORK;
        // The kernel starts the child with its stack pointer at `stack + stack_size`
        // (16-byte aligned, as a call expects).
        args.stack = stack.base as u64 + GUARD as u64;
        args.stack_size = STACK as u64;
        let entry: unsafe extern "C" fn(*mut libc::c_void) -> libc::c_int = child_main;
        let ret: libc::c_long;
        // SAFETY: the system call returns twice. In the parent (pid or -errno in rax) the
        // block ends as any system call; rcx and r11 are what `syscall` clobbers, every
        // other register is kept by the kernel. In the child (rax = 0), on its own empty
        // stack, it calls `child_main(start)`, which ends in exec or `_exit`; the exit(2)
        // after the call is only there if it ever returned. Nothing of the parent's stack
        // is used by the child.
        unsafe {
            std::arch::asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "mov rdi, r13",
                "call r12",
                "mov edi, eax",
                "mov eax, 60",
                "syscall",
                "ud2",
                "2:",
                inlateout("rax") libc::SYS_clone3 => ret,
                in("rdi") std::ptr::from_mut(args),
                in("rsi") std::mem::size_of::<CloneArgs>(),
                in("r12") entry,
                in("r13") std::ptr::from_mut(start),
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        if ret < 0 {
            // As libc's syscall(): -1 and errno.
            nix::errno::Errno::set_raw((-ret) as i32);
            return -1;
        }
        ret
    }
}

/// Puts `fds` at 3, 4, … without close-on-exec. Each is first copied above the target range
/// (so that no `dup2` overwrites a source still to be moved, whatever numbers the daemon's
/// fds have), then onto its place.
fn pass_fds(fds: &[RawFd], moved: &mut Vec<RawFd>) -> std::io::Result<()> {
    let above = FIRST_PASSED_FD + fds.len() as RawFd;
    moved.clear();
    for fd in fds {
        // SAFETY: fcntl(2) on an fd number; async-signal-safe.
        let copy = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, above) };
        if copy < 0 {
            return Err(std::io::Error::last_os_error());
        }
        moved.push(copy);
    }
    for (i, copy) in moved.iter().enumerate() {
        let target = FIRST_PASSED_FD + i as RawFd;
        // SAFETY: dup2(2) and close(2) on fd numbers; async-signal-safe. dup2 clears
        // close-on-exec on `target`.
        unsafe {
            if libc::dup2(*copy, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(*copy);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_short_slice_is_held_while_taken_and_never_inherited() {
        // A thread of its own: the harness's threads keep their attributes.
        std::thread::spawn(|| {
            let Some(before) = sched_attr() else {
                return;
            };
            let slice = ShortSlice::take();
            let during = sched_attr().expect("sched_getattr");
            // A thread started meanwhile gets the default, as a child does.
            let started = std::thread::spawn(sched_attr)
                .join()
                .expect("thread")
                .expect("sched_getattr");
            drop(slice);
            let after = sched_attr().expect("sched_getattr");
            // Kernels before 6.12 report no slice for SCHED_OTHER and ignore the request.
            if before.runtime > 0 {
                assert_eq!(during.runtime, SHORT_SLICE_NS);
                assert_eq!(started.runtime, before.runtime);
                assert_eq!(after.runtime, before.runtime);
            }
            assert_eq!((after.policy, after.nice), (before.policy, before.nice));
            assert_eq!(
                after.flags & SCHED_FLAG_RESET_ON_FORK,
                before.flags & SCHED_FLAG_RESET_ON_FORK
            );
        })
        .join()
        .expect("thread");
    }

    #[test]
    fn a_slot_holds_a_copy_only_while_a_start_uses_it() {
        use std::os::fd::AsRawFd;
        Slots::reserve();
        if RESERVED.get().is_none_or(Option::is_none) {
            // A kernel without close_range(CLOSE_RANGE_UNSHARE): no slots to test.
            return;
        }
        let link = |fd: RawFd| std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("fd");
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        // Another test may be starting a child: the slots are then busy for a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let filled = loop {
            if let Some(filled) = Slots::fill(&[write_end.as_raw_fd()]) {
                break filled;
            }
            assert!(std::time::Instant::now() < deadline, "slots busy for 30 s");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let slot = filled.slots.fds[0];
        assert!(slot < filled.slots.bound);
        assert!(
            filled.slots.fds.iter().all(|&fd| fd >= LOWEST_SLOT),
            "no slot where the child's setup puts fds"
        );
        assert_eq!(link(slot), link(write_end.as_raw_fd()));
        drop(filled);
        drop(write_end);
        assert_eq!(link(slot), std::path::PathBuf::from("/dev/null"));
        let mut byte = [0u8; 1];
        assert_eq!(
            nix::unistd::read(&read_end, &mut byte).expect("read"),
            0,
            "the pipe's last writer is gone once the slot is emptied"
        );
        assert!(
            Slots::fill(&[0; SLOTS + 1]).is_none(),
            "more fds than slots: the plain way"
        );
    }

    #[test]
    fn decimal_writes_digits_without_allocating() {
        let mut out = [0u8; 10];
        let n = decimal(0, &mut out);
        assert_eq!(&out[10 - n..], b"0");
        let n = decimal(4_194_304, &mut out);
        assert_eq!(&out[10 - n..], b"4194304");
        let n = decimal(u32::MAX, &mut out);
        assert_eq!(&out[10 - n..], b"4294967295");
    }

    #[test]
    fn the_plan_holds_null_terminated_arrays_and_room_for_the_pid() {
        let env = BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("LISTEN_PID".to_string(), "stale".to_string()),
        ]);
        let vars = || env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let plan = ExecPlan::new(
            Path::new("/bin/echo"),
            &[OsStr::new("echo"), OsStr::new("hi")],
            vars(),
            &["LISTEN_PID", "WATCHDOG_PID"],
        )
        .expect("a plan");
        assert_eq!(plan.argv_ptrs.len(), 3);
        assert_eq!(plan.argv_ptrs.last(), Some(&0));
        // A=1, the two pid slots (the inherited LISTEN_PID dropped), the null.
        assert_eq!(plan.env_ptrs.len(), 4);
        assert_eq!(plan.env_ptrs[1], plan.pid_entries[0].1.as_ptr() as usize);
        assert_eq!(plan.env_ptrs[2], plan.pid_entries[1].1.as_ptr() as usize);
        for (prefix, entry) in &plan.pid_entries {
            assert!(entry.len() >= prefix + PID_ROOM);
            assert_eq!(entry[prefix - 1], b'=');
        }
        assert!(
            ExecPlan::new(
                Path::new("/bin/echo"),
                &[OsStr::new("a\0b")],
                vars(),
                &["LISTEN_PID"]
            )
            .is_err(),
            "a NUL byte is refused in the parent"
        );
        assert!(
            ExecPlan::new(
                Path::new("/bin/echo"),
                &[OsStr::new("echo")],
                [("A", "x\0y")],
                &[]
            )
            .is_err(),
            "a NUL byte in a variable is refused in the parent"
        );
    }
}
