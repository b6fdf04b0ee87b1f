//! Files statusgate makes beside a SQLite database (the database itself, backups, key files and their
//! copies, the lock): readable by their owner only whatever the umask, because each holds the data or
//! the key that opens it, and created only where nothing is, so nothing is overwritten by mistake.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Owner read and write, nothing for anyone else.
#[cfg(unix)]
const PRIVATE: u32 = 0o600;

/// Creates `path`, which must not exist, empty and private. The mode given to `open` is narrowed by
/// the umask (a umask of 0277 would leave the owner without write), so it is set again afterwards.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(PRIVATE))?;
    }
    Ok(file)
}

/// Creates an empty private file at `path` unless something is there already (which is left as it is).
pub fn ensure_private(path: &Path) -> io::Result<()> {
    match create_private(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copies `from` to a new private file `to` (refused if `to` exists), synced to disk. A copy that
/// fails half-way is removed, so a retry finds the name free.
pub fn copy_private(from: &Path, to: &Path) -> io::Result<()> {
    let mut source = File::open(from)?;
    let mut target = create_private(to)?;
    let copied = io::copy(&mut source, &mut target).and_then(|_| target.sync_all());
    if copied.is_err() {
        let _ = std::fs::remove_file(to);
    }
    copied
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_files_are_0600_and_never_replace_one_that_exists() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        create_private(&a).unwrap();
        assert_eq!(mode(&a), 0o600);
        assert_eq!(
            create_private(&a).err().map(|e| e.kind()),
            Some(io::ErrorKind::AlreadyExists)
        );
        std::fs::write(&a, b"kept").unwrap();
        ensure_private(&a).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"kept");

        let b = dir.path().join("b");
        copy_private(&a, &b).unwrap();
        assert_eq!(
            (std::fs::read(&b).unwrap(), mode(&b)),
            (b"kept".to_vec(), 0o600)
        );
        std::fs::write(&b, b"other").unwrap();
        assert!(copy_private(&a, &b).is_err());
        assert_eq!(
            std::fs::read(&b).unwrap(),
            b"other",
            "an existing copy is left alone"
        );
    }
}
