//! A local HTTPS S3 endpoint: the embedded store behind TLS, with a server
//! certificate from a test CA made at bench time (rcgen). The function
//! trusts that CA as a user adds a private CA: the system's root
//! certificates and the test CA in one file named by `SSL_CERT_FILE`. The
//! function thus loads as many roots as it does in AWS (Amazon Linux 2023's
//! bundle holds about as many as Debian's).
//!
//! TLS is terminated by a front of the bench's own (tokio-rustls) that
//! forwards the bytes of each connection to the store's plain-HTTP
//! listener on loopback: the store is not changed, and requests (SigV4
//! signatures over the Host header included) reach it as sent.

use super::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::SocketAddr;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// The store over HTTPS; stopped when dropped.
pub(crate) struct HttpsStore {
    /// `https://127.0.0.1:PORT`
    pub(crate) url: String,
    /// The system's root certificates and the test CA's (PEM), for
    /// `SSL_CERT_FILE`.
    pub(crate) ca_file: PathBuf,
    /// How many certificates that file holds.
    pub(crate) roots: usize,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpsStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where Linux distributions keep their root certificates (Debian, Amazon
/// Linux / Fedora, Alpine and others).
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// A test CA and a server certificate for 127.0.0.1 and localhost.
fn certificates() -> Result<(String, rustls::ServerConfig), BoxError> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "s3-proxy bench test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec!["localhost".to_string()])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server
        .distinguished_name
        .push(DnType::CommonName, "s3-proxy bench store");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = server.signed_by(&key, &issuer)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let private_key = pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], private_key)?;
    Ok((ca_cert.pem(), config))
}

/// Starts the HTTPS front for the plain-HTTP store at `store`.
pub(crate) async fn https_store(store: SocketAddr) -> Result<HttpsStore, BoxError> {
    let (ca_pem, config) = certificates()?;
    let dir = tempfile::tempdir()?;
    let ca_file = dir.path().join("roots-and-bench-ca.pem");
    let mut bundle = SYSTEM_BUNDLES
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    bundle.push('\n');
    bundle.push_str(&ca_pem);
    std::fs::write(&ca_file, &bundle)?;
    let roots = bundle.matches("-----BEGIN CERTIFICATE-----").count();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = socket.set_nodelay(true);
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(store).await else {
                    return;
                };
                let _ = plain.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    Ok(HttpsStore {
        url,
        ca_file,
        roots,
        _dir: dir,
        task,
    })
}

/// Loads trust roots into a rustls root store, as a TLS client does before
/// its first connection: the system's (rustls-native-certs, which reads
/// `SSL_CERT_FILE` when set, as the SDK's client does), or the compiled-in
/// webpki-roots. Returns how many roots it holds.
pub(crate) fn load_roots(system: bool) -> usize {
    let mut roots = rustls::RootCertStore::empty();
    if system {
        let loaded = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(loaded.certs);
    } else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots.len()
}

/// The trust-roots row: instructions to load the system's roots (the file
/// the cold-start rows give `SSL_CERT_FILE`) against compiled-in roots.
pub(crate) fn roots_row(https: &HttpsStore, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    use instructions::{Workload, kilo, per_request, per_request_with, valgrind};
    let measure = format!(
        "(context) trust roots into a rustls store, instructions (callgrind, median of {} x {}): \
         the {} certificates of SSL_CERT_FILE (rustls-native-certs, as the SDK's client loads \
         them) vs compiled-in webpki-roots ({})",
        instructions::PROCESSES,
        instructions::REQUESTS,
        https.roots,
        webpki_roots::TLS_SERVER_ROOTS.len()
    );
    if let Err(why) = valgrind() {
        rows.push(Row::new(measure, format!("skipped: {why}")));
        return Ok(());
    }
    let system = per_request_with(Workload::RootsSystem, &[("SSL_CERT_FILE", &https.ca_file)])?;
    let compiled = per_request(Workload::RootsWebpki)?;
    rows.push(
        Row::new(measure, kilo(system))
            .direct(kilo(compiled))
            .ratio(system as f64 / compiled.max(1) as f64),
    );
    Ok(())
}
