//! Registered alerters (ZenML's `zenml alerter register`): one TOML file per name under
//! `$ALERTER_HOME/alerters/<name>.toml`, mode 0600 in a 0700 directory, in the config file's
//! format. A literal token may be stored there (with a warning at registration), so each save
//! writes a fresh 0600 file and renames it into place. Whoever can change a registered
//! alerter can redirect its token, so nothing is read from or written into a home or
//! `alerters/` directory another user owns or can write, and an alerter file that is a
//! symlink, belongs to another user or is writable by others is refused (see `fsguard`).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::fsguard;
use crate::spec::{load_file, AlerterSpec};

/// Registered alerters: `$ALERTER_HOME/alerters/<name>.toml`.
pub struct Registry {
    home: PathBuf,
    dir: PathBuf,
}

impl Registry {
    /// The registry under an alerter home (`<home>/alerters`).
    pub fn new(home: &Path) -> Registry {
        Registry {
            home: home.to_path_buf(),
            dir: home.join("alerters"),
        }
    }

    /// The home and the registry's directory may be trusted (or do not exist yet).
    fn trusted_dirs(&self) -> Result<(), ConfigError> {
        fsguard::check_dirs(&self.home, &self.dir).map_err(ConfigError::Invalid)
    }

    fn path(&self, name: &str) -> Result<PathBuf, ConfigError> {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ConfigError::Invalid(format!(
                "invalid alerter name `{name}`: use letters, digits, `-` and `_`"
            )));
        }
        Ok(self.dir.join(format!("{name}.toml")))
    }

    /// Store `spec` under `name`, replacing what was there.
    pub fn save(&self, name: &str, spec: &AlerterSpec) -> Result<(), ConfigError> {
        let path = self.path(name)?;
        let io = |e: std::io::Error| ConfigError::Invalid(format!("{}: {e}", path.display()));
        self.trusted_dirs()?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io)?;
        self.trusted_dirs()?;
        let text = toml::to_string(spec).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        // A fresh 0600 file renamed into place: it may hold a literal token.
        fsguard::write_private(&self.dir, &path, text.as_bytes()).map_err(io)
    }

    /// Read the alerter registered as `name`.
    pub fn load(&self, name: &str) -> Result<AlerterSpec, ConfigError> {
        let path = self.path(name)?;
        self.trusted_dirs()?;
        fsguard::check_file(&path).map_err(ConfigError::Invalid)?;
        if !path.is_file() {
            return Err(ConfigError::Invalid(format!(
                "no alerter `{name}` is registered (see `alerter list`)"
            )));
        }
        load_file(&path)
    }

    /// Registered names, sorted (none if the directory does not exist).
    pub fn list(&self) -> Result<Vec<String>, ConfigError> {
        self.trusted_dirs()?;
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".toml")
                    .map(String::from)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Delete a registered alerter; `false` if there was none.
    pub fn delete(&self, name: &str) -> Result<bool, ConfigError> {
        let path = self.path(name)?;
        self.trusted_dirs()?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ConfigError::Invalid(format!("{}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_home(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("alerter-registry-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn spec(channel: &str) -> AlerterSpec {
        AlerterSpec {
            flavor: "discord".into(),
            default_discord_channel_id: Some(channel.into()),
            api_base_url: Some("https://discord.com/api/v10".into()),
            ..AlerterSpec::default()
        }
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_home_or_alerters_dir_writable_by_others_is_refused_naming_the_path_and_fix() {
        let home = temp_home("ww");
        let registry = Registry::new(&home);
        registry.save("a", &spec("1")).unwrap();
        for dir in [home.clone(), home.join("alerters")] {
            chmod(&dir, 0o777);
            let shown = dir.display().to_string();
            let errors = [
                registry.list().err(),
                registry.load("a").err(),
                registry.save("a", &spec("2")).err(),
                registry.delete("a").err(),
            ];
            for e in errors {
                let e = e.expect("refused").to_string();
                assert!(e.contains(&shown), "{e}");
                assert!(e.contains("is writable by others (mode 0777)"), "{e}");
                assert!(e.contains(&format!("chmod go-w {shown}")), "{e}");
            }
            chmod(&dir, 0o700);
        }
        assert_eq!(
            registry
                .load("a")
                .unwrap()
                .default_discord_channel_id
                .unwrap(),
            "1"
        );
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn an_alerter_file_writable_by_others_symlinked_or_of_someone_else_is_refused() {
        let home = temp_home("file");
        let registry = Registry::new(&home);
        registry.save("a", &spec("1")).unwrap();
        let file = home.join("alerters/a.toml");
        chmod(&file, 0o666);
        let e = registry.load("a").unwrap_err().to_string();
        assert!(e.contains("is writable by others (mode 0666)"), "{e}");
        chmod(&file, 0o600);

        let elsewhere = home.join("elsewhere.toml");
        std::fs::copy(&file, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, home.join("alerters/b.toml")).unwrap();
        let e = registry.load("b").unwrap_err().to_string();
        assert!(e.contains("b.toml") && e.contains("symbolic link"), "{e}");

        // Root (as in CI) can give the file away; anyone else cannot, and skips this part.
        if std::os::unix::fs::chown(&file, Some(65534), None).is_ok() {
            let e = registry.load("a").unwrap_err().to_string();
            assert!(
                e.contains("a.toml") && e.contains("belongs to uid 65534"),
                "{e}"
            );
            assert!(e.contains("chown"), "{e}");
            std::os::unix::fs::chown(home.join("alerters"), Some(65534), None).unwrap();
            let e = registry.list().unwrap_err().to_string();
            assert!(e.contains("belongs to uid 65534, not you"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn concurrent_saves_always_leave_one_whole_file() {
        let home = temp_home("concurrent");
        let registry = std::sync::Arc::new(Registry::new(&home));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let registry = std::sync::Arc::clone(&registry);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let channel = format!("{t}-{i}-{}", "x".repeat(t * 500));
                        registry.save("same", &spec(&channel)).unwrap();
                        let got = registry.load("same").unwrap();
                        assert!(got.default_discord_channel_id.is_some());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(home.join("alerters/same.toml")).unwrap();
        let spec: AlerterSpec = toml::from_str(&text).unwrap();
        assert!(spec.default_discord_channel_id.is_some());
        assert_eq!(
            registry.list().unwrap(),
            ["same"],
            "no temporary files left"
        );
        assert_eq!(std::fs::read_dir(home.join("alerters")).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&home);
    }
}
