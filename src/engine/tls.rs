//! TLS for `tcp://` engines, the way the docker CLI does it: `--tlsverify` checks the engine's
//! certificate against a CA (the given one, else the system's), `--tls` alone encrypts without
//! checking, and a client certificate is offered when one is given (dockerd started with
//! `--tlsverify` refuses clients without one).
//!
//! One rustls stack (ring) serves both the capped raw client and bollard's image export, so
//! the binary carries one TLS implementation, not two.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use tokio_rustls::rustls;

/// The TLS material for one engine, as flags, environment or a context's store give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Check the engine's certificate (`--tlsverify`); off for `--tls` and for a context
    /// with `SkipTLSVerify`.
    pub verify: bool,
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no PEM {what} in it", path.display())]
    Pem { path: PathBuf, what: &'static str },
    #[error("a client certificate needs its key (--tlskey) and a key its certificate (--tlscert)")]
    HalfPair,
    #[error("TLS setup: {0}")]
    Config(String),
}

/// A ready client configuration plus what bollard needs to speak the same TLS.
#[derive(Debug, Clone)]
pub struct Tls {
    pub config: Arc<rustls::ClientConfig>,
    pub files: TlsFiles,
}

impl Tls {
    pub fn new(files: TlsFiles) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = if files.verify {
            builder.with_root_certificates(roots(files.ca.as_deref())?)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        };
        let config = match (&files.cert, &files.key) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(certs(cert)?, private_key(key)?)
                .map_err(|e| TlsError::Config(format!("{}: {e}", key.display())))?,
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(TlsError::HalfPair),
        };
        Ok(Tls {
            config: Arc::new(config),
            files,
        })
    }

    /// A TLS session over `tcp` to `addr` (`host:port`); the host part is the name checked
    /// against the certificate, an IP address as an IP SAN.
    pub async fn connect(
        &self,
        addr: &str,
        tcp: tokio::net::TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let name = server_name(addr)?;
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {addr}: {}", tls_reason(&e)))
    }
}

/// `host` of `host:port`, `[v6]:port` or a bare host, as rustls wants it.
fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = if let Some(rest) = addr.strip_prefix('[') {
        rest.split_once(']').map(|(h, _)| h).unwrap_or(rest)
    } else {
        addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr)
    };
    ServerName::try_from(host.to_string())
        .map_err(|_| format!("'{host}' is not a host name or address TLS can check"))
}

/// rustls says `invalid peer certificate: UnknownIssuer`; people need to know which flag to fix.
fn tls_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("UnknownIssuer") {
        format!("{text} (the engine's certificate is not signed by the CA given with --tlscacert or the context)")
    } else if text.contains("NotValidForName") {
        format!("{text} (the engine's certificate does not name this address)")
    } else if text.contains("CertificateRequired") || text.contains("certificate required") {
        format!("{text} (the engine wants a client certificate: --tlscert and --tlskey)")
    } else {
        text
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_path_buf(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read(path)?).map_err(|_| TlsError::Pem {
        path: path.to_path_buf(),
        what: "private key",
    })
}

/// The given CA, or the system's roots (as the docker CLI does when no CA file exists).
fn roots(ca: Option<&Path>) -> Result<rustls::RootCertStore, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let (added, _) = store.add_parsable_certificates(certs(path)?);
            if added == 0 {
                return Err(TlsError::Pem {
                    path: path.to_path_buf(),
                    what: "CA certificate rustls accepts",
                });
            }
        }
        None => {
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    Ok(store)
}

/// `--tls` without `--tlsverify`: encrypt, check nothing (the docker CLI's InsecureSkipVerify).
/// Signatures are still verified, so the session is at least with the holder of the key.
/// `profile`'s HTTPS probes use it too: the kubelet does not verify probe certificates.
#[derive(Debug)]
pub(crate) struct NoVerify(pub(crate) Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("127.0.0.1:2376"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("[::1]:2376"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("docker.example:2376"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(server_name("bad host:1").is_err());
    }

    #[test]
    fn bad_material_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("ca.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let files = TlsFiles {
            ca: Some(junk.clone()),
            cert: None,
            key: None,
            verify: true,
        };
        let e = Tls::new(files).unwrap_err().to_string();
        assert!(e.contains("ca.pem: no PEM certificate"), "{e}");
        let missing = TlsFiles {
            ca: Some(dir.path().join("nope.pem")),
            cert: None,
            key: None,
            verify: true,
        };
        let e = Tls::new(missing).unwrap_err().to_string();
        assert!(e.contains("nope.pem: cannot read"), "{e}");
        let half = TlsFiles {
            ca: None,
            cert: Some(junk),
            key: None,
            verify: false,
        };
        assert!(matches!(Tls::new(half), Err(TlsError::HalfPair)));
    }
}
