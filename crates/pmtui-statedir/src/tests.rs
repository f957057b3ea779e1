use super::*;
use std::os::unix::fs::PermissionsExt;

fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pmtsd")
        .tempdir()
        .expect("temp dir")
}

#[test]
fn a_missing_home_is_created_private() {
    let t = temp();
    let home = t.path().join("a/b/home");
    Dir::home(&home, true).expect("created");
    let mode = std::fs::metadata(&home).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // Not created without `create`.
    assert!(Dir::home(&t.path().join("absent"), false).is_err());
}

#[test]
fn an_existing_0755_home_is_accepted_and_a_writable_one_refused() {
    let t = temp();
    let home = t.path().join("home");
    std::fs::create_dir(&home).expect("mkdir");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Dir::home(&home, false).expect("0755 is fine");
    for (mode, who) in [(0o775, "its group"), (0o757, "everyone")] {
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let err = Dir::home(&home, true).expect_err("refused").to_string();
        assert!(err.contains(who), "{err}");
        assert!(err.contains("chmod go-w"), "{err}");
        assert!(err.contains(&home.display().to_string()), "{err}");
    }
}

#[test]
fn a_home_of_another_user_is_refused() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("needs root to give a directory to another uid; checked in CI");
        return;
    }
    let t = temp();
    let home = t.path().join("home");
    std::fs::create_dir(&home).expect("mkdir");
    std::os::unix::fs::chown(&home, Some(65534), None).expect("chown");
    let err = Dir::home(&home, false).expect_err("refused").to_string();
    assert!(err.contains("uid 65534"), "{err}");
}

#[test]
fn durable_writes_replace_whole_files_and_leave_no_temp() {
    let t = temp();
    let dir = Dir::home(t.path(), false).expect("home");
    dir.write_durable("a.json", b"one").expect("write");
    dir.write_durable("a.json", b"two").expect("rewrite");
    assert_eq!(dir.read("a.json").expect("read"), b"two");
    let mode = std::fs::metadata(t.path().join("a.json"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A target that is a directory: the rename fails, the temp file is cleaned.
    std::fs::create_dir(t.path().join("b.json")).expect("mkdir");
    assert!(dir.write_durable("b.json", b"x").is_err());
    let names = dir.entries().expect("entries");
    assert!(
        names.iter().all(|n| !n.starts_with(TEMP_PREFIX)),
        "{names:?}"
    );
    assert!(
        dir.remove("b.json", true).is_err(),
        "a directory is not removed"
    );
    assert!(!dir.remove("none", true).expect("absent is fine"));
    assert!(dir.write_durable("../escape", b"x").is_err());
}

#[test]
fn links_are_never_followed() {
    let t = temp();
    let dir = Dir::home(t.path(), false).expect("home");
    let victim = t.path().join("victim");
    std::fs::write(&victim, "precious").expect("victim");
    std::os::unix::fs::symlink(&victim, t.path().join("daemon.log")).expect("link");
    let err = dir.open_append("daemon.log").expect_err("refused");
    assert!(Dir::is_symlink_error(&err), "{err}");
    assert!(err.to_string().contains("daemon.log"), "{err}");
    assert!(dir.open_rw("daemon.log").is_err());
    assert!(dir.read("daemon.log").is_err());
    // Replacing a link replaces the link, not its target.
    dir.write_durable("daemon.log", b"new").expect("replace");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
    // A linked subfolder is refused.
    std::fs::create_dir(t.path().join("elsewhere")).expect("mkdir");
    std::os::unix::fs::symlink(t.path().join("elsewhere"), t.path().join("processes"))
        .expect("link");
    assert!(matches!(
        dir.sub("processes"),
        Err(StateError::Symlink { .. })
    ));
}

#[test]
fn leftover_temps_are_removed() {
    let t = temp();
    let dir = Dir::home(t.path(), false).expect("home");
    std::fs::write(t.path().join(".tmp-1-0"), "x").expect("temp");
    std::fs::write(t.path().join("web.tmp.77"), "x").expect("old temp");
    std::fs::write(t.path().join("web.json"), "x").expect("record");
    let removed = dir.remove_temps(|n| n.contains(".tmp."));
    assert_eq!(removed, 2);
    assert_eq!(
        dir.entries().expect("entries"),
        vec!["web.json".to_string()]
    );
}

#[test]
fn piecewise_writes_create_a_temp_only_when_kept_or_too_large_for_memory() {
    let t = temp();
    let dir = Dir::home(t.path(), false).expect("home");
    let temps = |dir: &Dir| {
        dir.entries()
            .expect("entries")
            .into_iter()
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .count()
    };
    // Small and not kept: no file is ever made.
    let kept = dir
        .write_synced_with("a.json", |out| {
            out.write_all(b"small")?;
            assert_eq!(temps(&dir), 0, "no temp file for content held in memory");
            Ok(false)
        })
        .expect("write");
    assert!(!kept);
    assert!(dir.entries().expect("entries").is_empty());
    // Small and kept: written whole.
    assert!(
        dir.write_synced_with("a.json", |out| out.write_all(b"one").map(|()| true))
            .expect("write")
    );
    assert_eq!(dir.read("a.json").expect("read"), b"one");
    // Larger than the buffer, in pieces of every size: streamed to a temp, the same bytes.
    let big: Vec<u8> = (0..3 * STREAM_BUFFER + 17)
        .map(|i| (i % 251) as u8)
        .collect();
    let write_big = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
        let mut rest = &big[..];
        let mut piece = 1;
        while !rest.is_empty() {
            let n = piece.min(rest.len());
            out.write_all(&rest[..n])?;
            rest = &rest[n..];
            piece = piece * 3 + 1;
        }
        Ok(())
    };
    let kept = dir
        .write_synced_with("a.json", |out| {
            write_big(out)?;
            assert_eq!(
                temps(&dir),
                1,
                "content past the buffer goes to a temp file"
            );
            Ok(false)
        })
        .expect("write");
    assert!(!kept);
    assert_eq!(
        temps(&dir),
        0,
        "the temp file of a write not kept is removed"
    );
    assert_eq!(dir.read("a.json").expect("read"), b"one", "untouched");
    assert!(
        dir.write_synced_with("a.json", |out| write_big(out).map(|()| true))
            .expect("write")
    );
    assert_eq!(dir.read("a.json").expect("read"), big);
    assert_eq!(temps(&dir), 0);
}

#[test]
fn in_place_writes_keep_the_file_and_never_follow_a_link() {
    use std::os::unix::fs::MetadataExt;
    let t = temp();
    let dir = Dir::home(t.path(), false).expect("home");
    dir.write_in_place("a.pid", b"123456").expect("write");
    let inode = std::fs::metadata(t.path().join("a.pid"))
        .expect("meta")
        .ino();
    dir.write_in_place("a.pid", b"42").expect("rewrite");
    assert_eq!(
        dir.read("a.pid").expect("read"),
        b"42",
        "shorter content truncates"
    );
    dir.write_in_place("a.pid", b"4242")
        .expect("rewrite longer");
    assert_eq!(dir.read("a.pid").expect("read"), b"4242");
    std::fs::write(t.path().join("a.pid"), vec![b'7'; 10_000]).expect("junk");
    dir.write_in_place("a.pid", b"9")
        .expect("rewrite over a big file");
    assert_eq!(dir.read("a.pid").expect("read"), b"9");
    let meta = std::fs::metadata(t.path().join("a.pid")).expect("meta");
    assert_eq!(meta.ino(), inode, "the same file, rewritten");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    std::os::unix::fs::symlink(t.path().join("elsewhere"), t.path().join("b.pid")).expect("link");
    assert!(dir.write_in_place("b.pid", b"1").is_err());
    assert!(
        !t.path().join("elsewhere").exists(),
        "the link was not followed"
    );
}
