//! Trust in the alerter home, the way ssh treats `~/.ssh`: whoever can write a registered
//! alerter can point its `api_base_url` (and so the egress allow-list) anywhere and receive the
//! token, so nothing is read from or written into a home, `alerters/` or `secrets/` directory
//! that another user owns or can write, and no alerter or secret file is used that is a
//! symbolic link, belongs to another user or is writable by others. A directory that does not
//! exist yet is fine: it is created 0700.
//!
//! Files are written through [`write_private`]: a temporary file with an unpredictable name,
//! created exclusively (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600), then renamed over the
//! target, so concurrent writers never interleave and a planted symlink cannot redirect a write.
//!
//! The checks return one line naming the path, what is wrong and the fix.

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// The effective user id of this process.
fn me() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Owner and mode checks shared by directories and files.
fn owned_and_not_writable_by_others(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    let me = me();
    if meta.uid() != me {
        return Err(format!(
            "refusing {}: it belongs to uid {}, not you (uid {me}); fix with `chown {me} {}` \
             (or remove it) if you trust its contents",
            path.display(),
            meta.uid(),
            path.display()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "refusing {}: it is writable by others (mode {mode:04o}); fix with `chmod go-w {}` \
             if you trust its contents",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

/// Metadata without following a symlink; `None` if nothing is there.
fn lstat(path: &Path) -> Result<Option<std::fs::Metadata>, String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("refusing {}: cannot check it: {e}", path.display())),
    }
}

/// A directory of the alerter home: missing, or owned by this user and not writable by others.
/// A symlinked directory (a home kept with one's dotfiles) is allowed if the link is this
/// user's and the directory it points to passes the same checks.
pub(crate) fn check_dir(path: &Path) -> Result<(), String> {
    let Some(meta) = lstat(path)? else {
        return Ok(());
    };
    if !meta.file_type().is_symlink() {
        return owned_and_not_writable_by_others(path, &meta);
    }
    if meta.uid() != me() {
        // The link's own mode is always 0777 and means nothing; its owner does.
        return owned_and_not_writable_by_others(path, &meta);
    }
    match std::fs::metadata(path) {
        Ok(target) => owned_and_not_writable_by_others(path, &target),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "refusing {}: it is a symbolic link to nothing; remove it",
            path.display()
        )),
        Err(e) => Err(format!("refusing {}: cannot check it: {e}", path.display())),
    }
}

/// `home`, then `home/sub`: see [`check_dir`].
pub(crate) fn check_dirs(home: &Path, sub: &Path) -> Result<(), String> {
    check_dir(home)?;
    check_dir(sub)
}

/// An alerter or secret file: missing, or not a symlink, owned by this user and not writable
/// by others.
pub(crate) fn check_file(path: &Path) -> Result<(), String> {
    let Some(meta) = lstat(path)? else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Err(format!(
            "refusing {}: it is a symbolic link, which is never followed for an alerter or \
             secret file; replace it with the file itself (`alerter register` or `alerter \
             secret create` again)",
            path.display()
        ));
    }
    owned_and_not_writable_by_others(path, &meta)
}

/// An unpredictable suffix for a temporary file: the process id and 64 random bits (std's
/// hasher keys come from the OS's random source).
fn random_suffix() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{}-{:016x}", std::process::id(), h.finish())
}

/// Write `data` to `path` (in `dir`, which the caller has checked) atomically with mode 0600:
/// an exclusively created temporary file that is never a symlink, renamed over `path`.
pub(crate) fn write_private(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", random_suffix()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(&tmp)?;
    let written = f.write_all(data).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("alerter-fsguard-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    #[test]
    fn missing_paths_pass_and_private_ones_too() {
        let d = temp("ok");
        assert_eq!(check_dir(&d.join("nope")), Ok(()));
        assert_eq!(check_file(&d.join("nope.json")), Ok(()));
        assert_eq!(check_dir(&d), Ok(()));
        std::fs::write(d.join("f"), "x").unwrap();
        std::fs::set_permissions(d.join("f"), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(check_file(&d.join("f")), Ok(()));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_dir_writable_by_others_is_refused_with_the_fix() {
        let d = temp("ww");
        for mode in [0o777, 0o770, 0o1777] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = check_dir(&d).unwrap_err();
            assert!(e.contains(&d.display().to_string()), "{e}");
            assert!(
                e.contains(&format!("writable by others (mode {mode:04o})")),
                "{e}"
            );
            assert!(e.contains(&format!("chmod go-w {}", d.display())), "{e}");
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_symlinked_dir_is_judged_by_its_target() {
        let d = temp("dirlink");
        let target = d.join("real");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&target, d.join("link")).unwrap();
        assert_eq!(check_dir(&d.join("link")), Ok(()));
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_dir(&d.join("link"))
            .unwrap_err()
            .contains("writable by others"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_file_of_someone_else_is_refused_when_we_can_give_it_away() {
        let d = temp("owner");
        let f = d.join("f");
        std::fs::write(&f, "x").unwrap();
        // Only root can give a file away; as anyone else the check is covered by the mode.
        if std::os::unix::fs::chown(&f, Some(65534), None).is_err() {
            return;
        }
        let e = check_file(&f).unwrap_err();
        assert!(
            e.contains(&format!("belongs to uid 65534, not you (uid {})", me())),
            "{e}"
        );
        assert!(e.contains("chown"), "{e}");
        std::os::unix::fs::chown(&d, Some(65534), None).unwrap();
        assert!(check_dir(&d).unwrap_err().contains("belongs to uid 65534"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_symlinked_file_is_refused() {
        let d = temp("filelink");
        std::fs::write(d.join("real"), "x").unwrap();
        std::fs::set_permissions(d.join("real"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        let e = check_file(&d.join("link")).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn writes_never_follow_a_planted_symlink_and_leave_no_temp_file() {
        let d = temp("write");
        let victim = d.join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        let path = d.join("s.json");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_private(&d, &path, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.mode() & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_ne!(random_suffix(), random_suffix());
        let _ = std::fs::remove_dir_all(&d);
    }
}
