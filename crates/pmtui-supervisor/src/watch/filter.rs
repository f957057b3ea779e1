//! What a watched directory does not count as a change: the default globs (`node_modules`,
//! `.git`, `*.log`, `__pycache__`), the app's `ignore_watch` globs, its own log and pid
//! files (and their rotations), pmtui's state directory, and, when the directory is inside
//! a git work tree, what its `.gitignore` files say. The same rules decide which
//! directories are watched at all, so an ignored `node_modules` costs no inotify watch.

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::path::{Path, PathBuf};

pub(crate) struct Filter {
    /// The watched directory; globs are relative to it.
    root: PathBuf,
    globs: Gitignore,
    /// Files the daemon itself writes for this app (a change of one is not the app's): a
    /// path ignored when it is one of these or a rotation of one (`app-out.log.1.gz`).
    own: Vec<PathBuf>,
    /// Directories ignored whole (pmtui's state directory).
    own_dirs: Vec<PathBuf>,
    /// `.gitignore` matchers (each rooted at its folder), deepest last; empty outside git.
    git: Vec<Gitignore>,
    in_git: bool,
}

impl Filter {
    /// The rules for directory `root`. Bad globs are reported, not fatal.
    pub fn new(root: &Path, globs: &[String], own: Vec<PathBuf>, own_dirs: Vec<PathBuf>) -> Self {
        let mut builder = GitignoreBuilder::new(root);
        for glob in pmtui_proto::DEFAULT_WATCH_IGNORE
            .iter()
            .map(|g| (*g).to_string())
            .chain(globs.iter().map(|g| anchored(root, g)))
        {
            if let Err(err) = builder.add_line(None, &glob) {
                tracing::warn!(glob, %err, "ignore_watch glob skipped");
            }
        }
        let globs = builder.build().unwrap_or_else(|err| {
            tracing::warn!(%err, "ignore_watch globs not used");
            Gitignore::empty()
        });
        let top = git_top(root);
        let mut filter = Filter {
            root: root.to_path_buf(),
            globs,
            own,
            own_dirs,
            git: Vec::new(),
            in_git: top.is_some(),
        };
        if let Some(top) = top {
            let exclude = top.join(".git/info/exclude");
            if exclude.is_file() {
                filter.add_gitignore_file(&top, &exclude);
            }
            // The .gitignore files from the work tree's top down to the watched folder.
            let mut dirs: Vec<&Path> = root
                .ancestors()
                .take_while(|d| d.starts_with(&top))
                .collect();
            dirs.reverse();
            for dir in dirs {
                filter.add_gitignore(dir);
            }
        }
        filter
    }

    /// Reads `dir/.gitignore`, if the watched folder is in a git work tree and it exists.
    pub fn add_gitignore(&mut self, dir: &Path) {
        if !self.in_git {
            return;
        }
        let file = dir.join(".gitignore");
        if file.is_file() && !self.git.iter().any(|g| g.path() == dir) {
            self.add_gitignore_file(dir, &file);
        }
    }

    fn add_gitignore_file(&mut self, dir: &Path, file: &Path) {
        let mut builder = GitignoreBuilder::new(dir);
        if let Some(err) = builder.add(file) {
            tracing::warn!(file = %file.display(), %err, "part of a .gitignore not used");
        }
        match builder.build() {
            Ok(gi) => self.git.push(gi),
            Err(err) => tracing::warn!(file = %file.display(), %err, ".gitignore not used"),
        }
    }

    /// Whether a change of `path` (under the root) is ignored.
    pub fn ignores(&self, path: &Path, is_dir: bool) -> bool {
        if self.own_dirs.iter().any(|d| path.starts_with(d)) {
            return true;
        }
        if self.own.iter().any(|own| is_own(own, path)) {
            return true;
        }
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        if matches_or_parents(&self.globs, rel, is_dir) {
            return true;
        }
        // The deepest .gitignore that says something decides.
        for gi in self.git.iter().rev() {
            if let Ok(rel) = path.strip_prefix(gi.path()) {
                match first_match(gi, rel, is_dir) {
                    Some(ignored) => return ignored,
                    None => continue,
                }
            }
        }
        false
    }
}

/// An absolute glob under `root` as a glob anchored at it; others as given.
fn anchored(root: &Path, glob: &str) -> String {
    match Path::new(glob).strip_prefix(root) {
        Ok(rel) if Path::new(glob).is_absolute() => format!("/{}", rel.display()),
        _ => glob.to_string(),
    }
}

/// `path` is `own` or a rotation of it (`own` followed by `.1`, `.gz`, `-2`…).
fn is_own(own: &Path, path: &Path) -> bool {
    if path == own {
        return true;
    }
    match (
        own.parent(),
        path.parent(),
        own.file_name(),
        path.file_name(),
    ) {
        (Some(a), Some(b), Some(own), Some(name)) if a == b => name
            .to_string_lossy()
            .strip_prefix(&*own.to_string_lossy())
            .is_some_and(|rest| rest.starts_with(['.', '-'])),
        _ => false,
    }
}

fn matches_or_parents(gi: &Gitignore, rel: &Path, is_dir: bool) -> bool {
    first_match(gi, rel, is_dir) == Some(true)
}

/// What `gi` says of `rel` or its nearest folder it says something of: `Some(true)`
/// ignored, `Some(false)` whitelisted, `None` nothing.
fn first_match(gi: &Gitignore, rel: &Path, is_dir: bool) -> Option<bool> {
    let mut at = Some(rel);
    let mut dir = is_dir;
    while let Some(p) = at.filter(|p| !p.as_os_str().is_empty()) {
        let m = gi.matched(p, dir);
        if m.is_ignore() {
            return Some(true);
        }
        if m.is_whitelist() {
            return Some(false);
        }
        at = p.parent();
        dir = true;
    }
    None
}

/// The top of the git work tree holding `dir`, if any.
fn git_top(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_globs_and_own_files_are_ignored() {
        let root = Path::new("/nowhere/app");
        let f = Filter::new(
            root,
            &["dist".into(), "*.tmp".into(), "/nowhere/app/cache".into()],
            vec![root.join("logs/app-out.log")],
            vec![PathBuf::from("/nowhere/app/.pmtui")],
        );
        let ignored = |p: &str, dir| f.ignores(&root.join(p), dir);
        assert!(ignored("node_modules", true));
        assert!(ignored("node_modules/x/index.js", false));
        assert!(ignored("sub/node_modules/y.js", false));
        assert!(ignored(".git/HEAD", false));
        assert!(ignored("server.log", false));
        assert!(ignored("__pycache__/a.pyc", false));
        assert!(ignored("dist/bundle.js", false));
        assert!(ignored("a/b/c.tmp", false));
        assert!(ignored("cache/x", false));
        assert!(ignored("logs/app-out.log", false));
        assert!(ignored("logs/app-out.log.1.gz", false));
        assert!(ignored(".pmtui/pmtui.sock", false));
        assert!(!ignored("src/app.py", false));
        assert!(!ignored("logs/other.txt", false));
        assert!(!ignored("sub/cache/x", false));
        assert!(!ignored("src", true));
    }

    #[test]
    fn gitignore_is_honoured_inside_a_work_tree_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::write(root.join(".gitignore"), "build/\n*.gen\n!keep.gen\n").expect("write");
        let outside = Filter::new(&root, &[], vec![], vec![]);
        assert!(!outside.ignores(&root.join("build/x.js"), false));
        std::fs::create_dir(root.join(".git")).expect("mkdir");
        let inside = Filter::new(&root, &[], vec![], vec![]);
        assert!(inside.ignores(&root.join("build/x.js"), false));
        assert!(inside.ignores(&root.join("a/b.gen"), false));
        assert!(!inside.ignores(&root.join("keep.gen"), false));
        assert!(!inside.ignores(&root.join("src/app.py"), false));
    }
}
