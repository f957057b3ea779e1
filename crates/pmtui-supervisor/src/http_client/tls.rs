//! The TLS side of the HTTP client (for `https://` webhooks): rustls with the ring
//! provider, no OpenSSL. The server's certificate is checked against Mozilla's roots
//! (webpki-roots, built in, so a machine without a CA bundle still works) and, when the
//! hook names one, the CA certificates of a PEM `ca_file`, read at each connection so a
//! renewed file takes effect without a restart.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};

/// The most CA certificates a `ca_file` may hold (a bundle, not a disk's worth).
const MAX_CA_CERTS: usize = 1000;

/// Runs the handshake over `tcp` for `host`, trusting the built-in roots and `ca_file`.
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    ca_file: Option<&Path>,
) -> Result<TlsStream<TcpStream>, String> {
    let config = match ca_file {
        None => default_config()?,
        Some(path) => {
            let pem = tokio::fs::read(path)
                .await
                .map_err(|e| format!("ca_file {}: {}", path.display(), super::io_error(&e)))?;
            config_with(&pem).map_err(|why| format!("ca_file {}: {why}", path.display()))?
        }
    };
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host}: not a name TLS can check"))?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {}", tls_error(&e)))
}

/// The configuration with the built-in roots only, made once.
fn default_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(|| build(mozilla_roots())).clone()
}

/// The built-in roots and the certificates of a PEM file.
fn config_with(pem: &[u8]) -> Result<Arc<ClientConfig>, String> {
    let mut roots = mozilla_roots();
    let mut added = 0usize;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate file ({e})"))?;
        roots
            .add(cert)
            .map_err(|e| format!("a certificate that cannot be a root ({e})"))?;
        added += 1;
        if added > MAX_CA_CERTS {
            return Err(format!("more than {MAX_CA_CERTS} certificates"));
        }
    }
    if added == 0 {
        return Err("no PEM certificate in it".into());
    }
    build(roots)
}

fn mozilla_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn build(roots: RootCertStore) -> Result<Arc<ClientConfig>, String> {
    // The provider is named: the process-wide default is not relied upon.
    let config = ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A handshake failure in a few words: rustls's own sentence (`invalid peer certificate:
/// UnknownIssuer`) rather than the I/O wrapper around it.
fn tls_error(err: &std::io::Error) -> String {
    match err.get_ref() {
        Some(inner) => inner.to_string(),
        None => super::io_error(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let err = config_with(b"hello\n").expect_err("no certificate");
        assert!(err.contains("no PEM certificate"), "{err}");
        assert!(default_config().is_ok());
    }
}
