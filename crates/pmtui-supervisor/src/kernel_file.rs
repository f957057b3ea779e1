//! Reading a small file the kernel makes on demand (`/proc`, cgroupfs) whole, into a buffer
//! of the caller's: open, read(2) until the end, close. `std::fs::read_to_string` asks for
//! the size first (0 for these files) and then probes with reads of 32, 64, 128… bytes,
//! a dozen system calls for `/proc/self/status`, and every read of `/proc/vmstat` makes
//! the kernel gather all its counters again; these are read at every launch.

use std::io::Read;
use std::path::Path;

/// The file's bytes (at most `buf.len()` of them), or `None` when it cannot be read.
pub(crate) fn read(path: impl AsRef<Path>, buf: &mut [u8]) -> Option<&[u8]> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(&buf[..len])
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_proc_file_whole() {
        let mut buf = [0u8; 16 * 1024];
        let status = super::read("/proc/self/status", &mut buf).expect("/proc/self/status");
        let text = std::str::from_utf8(status).expect("ASCII");
        assert!(text.starts_with("Name:") && text.contains("\nFDSize:"));
        assert!(text.ends_with('\n'));
        let mut small = [0u8; 8];
        assert_eq!(
            super::read("/proc/self/status", &mut small).map(<[u8]>::len),
            Some(8)
        );
        assert!(super::read("/proc/no-such-file", &mut buf).is_none());
    }
}
