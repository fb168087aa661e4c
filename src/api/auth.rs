//! Bearer tokens → principals. The token file lists SHA-256 hashes of tokens
//! (never the tokens), each with a role and, for managers, the manager id:
//!
//! ```toml
//! [[principal]]
//! token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! role = "remote_manager"     # robot | remote_manager | offline_manager | admin
//! manager_id = "r-001"
//! ```
//!
//! `funnel hash-token <token>` prints a token's hash.

use super::error::ApiError;
use crate::domain::ManagerId;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Robot,
    RemoteManager(ManagerId),
    OfflineManager(ManagerId),
    Admin,
}

impl Principal {
    /// A remote manager's id; anyone else is refused, saying who they are.
    pub fn remote(self) -> Result<ManagerId, ApiError> {
        match self {
            Principal::RemoteManager(m) => Ok(m),
            p => Err(p.refused("is not a remote manager")),
        }
    }

    /// An offline (branch) manager's id; anyone else is refused.
    pub fn offline(self) -> Result<ManagerId, ApiError> {
        match self {
            Principal::OfflineManager(m) => Ok(m),
            p => Err(p.refused("is not an offline manager")),
        }
    }

    pub fn admin(self) -> Result<(), ApiError> {
        match self {
            Principal::Admin => Ok(()),
            p => Err(p.refused("is not an admin")),
        }
    }

    fn refused(&self, why: &str) -> ApiError {
        ApiError::PermissionDenied(format!("{} {why}", self.describe()))
    }

    /// The name a client certificate must carry for this principal.
    pub fn identity(&self) -> &str {
        match self {
            Principal::Robot => "robot",
            Principal::RemoteManager(m) | Principal::OfflineManager(m) => m.as_str(),
            Principal::Admin => "admin",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Principal::Robot => "robot".into(),
            Principal::RemoteManager(m) => format!("remote manager {m}"),
            Principal::OfflineManager(m) => format!("offline manager {m}"),
            Principal::Admin => "admin".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct TokenFile {
    #[serde(default)]
    principal: Vec<TokenEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token_sha256: String,
    role: String,
    #[serde(default)]
    manager_id: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Tokens {
    by_hash: HashMap<String, Principal>,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Tokens {
    pub fn load(path: &Path) -> Result<Self, String> {
        let raw = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&raw).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let file: TokenFile = toml::from_str(raw).map_err(|e| e.to_string())?;
        let mut by_hash = HashMap::new();
        for (i, e) in file.principal.into_iter().enumerate() {
            let manager = |e: &TokenEntry| {
                e.manager_id
                    .as_deref()
                    .ok_or_else(|| format!("principal[{i}]: {} needs manager_id", e.role))
                    .and_then(|m| {
                        ManagerId::parse(m).map_err(|err| format!("principal[{i}]: {err}"))
                    })
            };
            let p = match e.role.as_str() {
                "robot" => Principal::Robot,
                "admin" => Principal::Admin,
                "remote_manager" => Principal::RemoteManager(manager(&e)?),
                "offline_manager" => Principal::OfflineManager(manager(&e)?),
                other => return Err(format!("principal[{i}]: unknown role {other:?}")),
            };
            let hash = e.token_sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "principal[{i}]: token_sha256 must be 64 hex digits"
                ));
            }
            by_hash.insert(hash, p);
        }
        Ok(Self { by_hash })
    }

    /// The caller of a gRPC request, from `authorization: Bearer <token>`.
    pub fn principal<T>(&self, req: &tonic::Request<T>) -> Result<Principal, ApiError> {
        let header = req.metadata().get("authorization");
        self.bearer(header.map(|v| v.as_bytes()))
    }

    /// The caller named by an `authorization` header's value (gRPC metadata
    /// or an HTTP header: the web workbench authenticates through here too).
    pub fn bearer(&self, header: Option<&[u8]>) -> Result<Principal, ApiError> {
        let header = header
            .ok_or_else(|| ApiError::Unauthenticated("missing authorization metadata".into()))?;
        let value = std::str::from_utf8(header)
            .ok()
            .filter(|v| v.is_ascii())
            .ok_or_else(|| ApiError::Unauthenticated("malformed authorization metadata".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthenticated("authorization must be 'Bearer <token>'".into())
            })?;
        self.by_hash
            .get(&hash_token(token.trim()))
            .cloned()
            .ok_or_else(|| ApiError::Unauthenticated("unknown token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_to_principals() {
        let raw = format!(
            "[[principal]]\ntoken_sha256 = \"{}\"\nrole = \"remote_manager\"\nmanager_id = \"r1\"\n",
            hash_token("secret")
        );
        let t = Tokens::parse(&raw).unwrap();
        let mut req = tonic::Request::new(());
        req.metadata_mut()
            .insert("authorization", "Bearer secret".parse().unwrap());
        assert_eq!(
            t.principal(&req).unwrap(),
            Principal::RemoteManager(ManagerId::parse("r1").unwrap())
        );
        let mut bad = tonic::Request::new(());
        bad.metadata_mut()
            .insert("authorization", "Bearer nope".parse().unwrap());
        assert!(matches!(
            t.principal(&bad),
            Err(ApiError::Unauthenticated(_))
        ));
        assert!(matches!(
            t.principal(&tonic::Request::new(())),
            Err(ApiError::Unauthenticated(_))
        ));
        assert!(Tokens::parse("[[principal]]\ntoken_sha256 = \"ab\"\nrole = \"robot\"\n").is_err());
        assert!(Tokens::parse(&raw.replace("manager_id = \"r1\"\n", "")).is_err());
    }
}
