//! Where the sync token lives: the OS keychain (macOS Keychain, Windows Credential
//! Manager, the Secret Service on Linux desktops) when one answers, else a file beside the
//! store that only the user can read. Never the store itself: a copied or backed-up store
//! carries no credential.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Error, Result};

/// The keychain service name entries are kept under.
pub const SERVICE: &str = "Riskdesk sync";

/// Where a token was put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Keychain,
    File,
}

/// One store's sync token.
pub struct Vault {
    /// The keychain entry's user: one per store, so two stores never share a token.
    #[cfg_attr(not(feature = "keychain"), allow(dead_code))]
    account: String,
    file: PathBuf,
    #[cfg_attr(not(feature = "keychain"), allow(dead_code))]
    keychain: bool,
    /// The token as last read or written: the status bar asks every few seconds.
    cached: Mutex<Option<Option<String>>>,
}

impl Vault {
    /// The vault of the store at `database`, whose device id is `device`. The keychain is
    /// tried unless `RISKDESK_NO_KEYCHAIN` is set, or (on Linux) no session bus is there to
    /// reach a Secret Service.
    pub fn for_store(database: &Path, device: &str) -> Vault {
        let keychain = cfg!(feature = "keychain")
            && std::env::var_os("RISKDESK_NO_KEYCHAIN").is_none()
            && (!cfg!(target_os = "linux")
                || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some());
        Vault {
            account: format!("device {device}"),
            file: database.with_extension("sync-token"),
            keychain,
            cached: Mutex::new(None),
        }
    }

    /// A vault that only uses its file (tests, machines without a keychain).
    pub fn file_only(file: PathBuf) -> Vault {
        Vault {
            account: String::new(),
            file,
            keychain: false,
            cached: Mutex::new(None),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    fn remember(&self, token: Option<String>) {
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(token);
        }
    }

    pub fn load(&self) -> Result<Option<String>> {
        if let Some(known) = self.cached.lock().ok().and_then(|c| c.clone()) {
            return Ok(known);
        }
        let token = match self.keychain_get() {
            Some(token) => Some(token),
            None => self.file_get()?,
        };
        self.remember(token.clone());
        Ok(token)
    }

    /// Keeps `token`, in the keychain when it answers, else in the file.
    pub fn save(&self, token: &str) -> Result<Kept> {
        let kept = if self.keychain_set(token) {
            self.file_clear()?;
            Kept::Keychain
        } else {
            self.file_set(token)?;
            Kept::File
        };
        self.remember(Some(token.to_string()));
        Ok(kept)
    }

    pub fn clear(&self) -> Result<()> {
        self.keychain_clear();
        self.file_clear()?;
        self.remember(None);
        Ok(())
    }

    fn file_get(&self) -> Result<Option<String>> {
        match std::fs::read_to_string(&self.file) {
            Ok(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(self.io(source)),
        }
    }

    fn file_set(&self, token: &str) -> Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&self.file).map_err(|e| self.io(e))?;
        // A file made before (another mode) is narrowed too.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| self.io(e))?;
        }
        f.write_all(token.as_bytes()).map_err(|e| self.io(e))
    }

    fn file_clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.io(e)),
            _ => Ok(()),
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.file.display().to_string(),
            source,
        }
    }

    #[cfg(feature = "keychain")]
    fn entry(&self) -> Option<keyring::Entry> {
        if !self.keychain {
            return None;
        }
        keyring::Entry::new(SERVICE, &self.account)
            .map_err(|e| tracing::warn!(error = %e, "no keychain entry"))
            .ok()
    }

    #[cfg(feature = "keychain")]
    fn keychain_get(&self) -> Option<String> {
        self.entry()?.get_password().ok()
    }

    #[cfg(feature = "keychain")]
    fn keychain_set(&self, token: &str) -> bool {
        match self.entry().map(|e| e.set_password(token)) {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "the keychain refused the token: keeping it in a file only this user can read");
                false
            }
            None => false,
        }
    }

    #[cfg(feature = "keychain")]
    fn keychain_clear(&self) {
        if let Some(e) = self.entry() {
            let _ = e.delete_credential();
        }
    }

    #[cfg(not(feature = "keychain"))]
    fn keychain_get(&self) -> Option<String> {
        None
    }

    #[cfg(not(feature = "keychain"))]
    fn keychain_set(&self, _token: &str) -> bool {
        false
    }

    #[cfg(not(feature = "keychain"))]
    fn keychain_clear(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_keychain_the_token_is_a_file_only_the_user_reads() {
        let dir = tempfile::tempdir().expect("dir");
        let vault = Vault::file_only(dir.path().join("riskdesk.sync-token"));
        assert_eq!(vault.load().expect("load"), None);
        assert_eq!(vault.save("secret-token").expect("save"), Kept::File);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(vault.file())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A fresh vault (the app started again) reads it back.
        let again = Vault::file_only(vault.file().to_path_buf());
        assert_eq!(again.load().expect("load").as_deref(), Some("secret-token"));
        again.clear().expect("clear");
        assert!(!vault.file().exists());
        assert_eq!(
            Vault::file_only(vault.file().to_path_buf())
                .load()
                .expect("load"),
            None
        );
    }
}
