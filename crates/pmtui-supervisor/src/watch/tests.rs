//! The hub against a real tree in a temporary folder: changes arrive, ignored ones do not,
//! new folders are watched, and the inotify watches go when the last subscriber does.

use super::*;
use std::path::Path;
use std::time::Duration;

async fn next_shown(sub: &mut Subscription) -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(20), sub.rx.recv()).await {
        Ok(Some(Change::Path { shown, .. })) => Some(shown),
        Ok(Some(Change::Error(e))) => Some(format!("error: {e}")),
        _ => None,
    }
}

/// Everything that arrives within a short quiet time.
async fn drain(sub: &mut Subscription) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(Some(change)) =
        tokio::time::timeout(Duration::from_millis(300), sub.rx.recv()).await
    {
        if let Change::Path { shown, .. } = change {
            seen.push(shown);
        }
    }
    seen
}

fn request(root: &Path) -> WatchRequest {
    WatchRequest {
        roots: vec![root.to_path_buf()],
        ignore: vec!["tmp".into()],
        own: vec![root.join("out.txt")],
        own_dirs: vec![],
    }
}

#[tokio::test]
async fn changes_arrive_and_ignored_paths_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    std::fs::create_dir_all(root.join("node_modules/pkg")).expect("mkdir");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    let hub = WatchHub::default();
    let mut sub = hub.subscribe(request(&root)).await.expect("subscribe");

    std::fs::write(root.join("node_modules/pkg/index.js"), "x").expect("write");
    std::fs::write(root.join("server.log"), "x").expect("write");
    std::fs::write(root.join("out.txt"), "x").expect("write");
    std::fs::create_dir(root.join("tmp")).expect("mkdir");
    assert_eq!(drain(&mut sub).await, Vec::<String>::new());

    std::fs::write(root.join("src/app.py"), "print(1)").expect("write");
    assert_eq!(next_shown(&mut sub).await.as_deref(), Some("src/app.py"));
    drain(&mut sub).await;

    // A folder made after the watch began is watched too.
    std::fs::create_dir(root.join("new")).expect("mkdir");
    assert_eq!(next_shown(&mut sub).await.as_deref(), Some("new"));
    drain(&mut sub).await;
    std::fs::write(root.join("new/mod.py"), "x").expect("write");
    assert_eq!(next_shown(&mut sub).await.as_deref(), Some("new/mod.py"));
    drain(&mut sub).await;

    // An editor's save: a temporary file renamed over the real one.
    std::fs::write(root.join("src/.app.py.swp"), "print(2)").expect("write");
    std::fs::rename(root.join("src/.app.py.swp"), root.join("src/app.py")).expect("rename");
    let seen = drain(&mut sub).await;
    assert!(seen.contains(&"src/app.py".to_string()), "{seen:?}");
}

#[tokio::test]
async fn a_file_root_follows_replacement_and_a_deleted_folder_is_watched_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    std::fs::write(root.join("app.conf"), "a").expect("write");
    std::fs::create_dir(root.join("lib")).expect("mkdir");
    let hub = WatchHub::default();
    let mut file = hub
        .subscribe(WatchRequest {
            roots: vec![root.join("app.conf")],
            ignore: vec![],
            own: vec![],
            own_dirs: vec![],
        })
        .await
        .expect("subscribe");
    std::fs::write(root.join("other"), "x").expect("write");
    assert_eq!(drain(&mut file).await, Vec::<String>::new());
    std::fs::write(root.join("app.conf.new"), "b").expect("write");
    std::fs::rename(root.join("app.conf.new"), root.join("app.conf")).expect("rename");
    assert_eq!(next_shown(&mut file).await.as_deref(), Some("app.conf"));
    drain(&mut file).await;
    std::fs::remove_file(root.join("app.conf")).expect("rm");
    std::fs::write(root.join("app.conf"), "c").expect("write");
    assert_eq!(next_shown(&mut file).await.as_deref(), Some("app.conf"));

    let lib = root.join("lib");
    let mut tree = hub.subscribe(request(&lib)).await.expect("subscribe");
    std::fs::remove_dir(&lib).expect("rmdir");
    assert!(next_shown(&mut tree).await.is_some());
    drain(&mut tree).await;
    std::fs::create_dir(&lib).expect("mkdir");
    // Seen by the once-a-second look for missing paths.
    assert!(next_shown(&mut tree).await.is_some());
    drain(&mut tree).await;
    std::fs::write(lib.join("x.py"), "x").expect("write");
    assert_eq!(next_shown(&mut tree).await.as_deref(), Some("x.py"));
}
