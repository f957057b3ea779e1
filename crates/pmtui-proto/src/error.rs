//! Errors of the wire format.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProtoError {
    #[error("malformed frame: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("protocol version mismatch: daemon speaks {daemon}, client speaks {client}")]
    VersionMismatch { daemon: u32, client: u32 },
}
