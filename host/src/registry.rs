//! Registered alerters (ZenML's `zenml alerter register`): one TOML file per name under
//! `$ALERTER_HOME/alerters/<name>.toml`, mode 0600 in a 0700 directory, in the config file's
//! format. A literal token may be stored there (with a warning at registration), so the mode is
//! forced even when the file existed before.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::spec::{load_file, AlerterSpec};

/// Registered alerters: `$ALERTER_HOME/alerters/<name>.toml`.
pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    /// The registry under an alerter home (`<home>/alerters`).
    pub fn new(home: &Path) -> Registry {
        Registry {
            dir: home.join("alerters"),
        }
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
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io)?;
        let text = toml::to_string(spec).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // An existing file keeps its mode on open: it may hold a literal token, force 0600.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(io)?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io)
    }

    /// Read the alerter registered as `name`.
    pub fn load(&self, name: &str) -> Result<AlerterSpec, ConfigError> {
        let path = self.path(name)?;
        if !path.is_file() {
            return Err(ConfigError::Invalid(format!(
                "no alerter `{name}` is registered (see `alerter list`)"
            )));
        }
        load_file(&path)
    }

    /// Registered names, sorted.
    pub fn list(&self) -> Vec<String> {
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
        names
    }

    /// Delete a registered alerter; `false` if there was none.
    pub fn delete(&self, name: &str) -> Result<bool, ConfigError> {
        let path = self.path(name)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ConfigError::Invalid(format!("{}: {e}", path.display()))),
        }
    }
}
