//! The address registry used to geocode citizens' addresses.

use crate::StoreError;
use crieur_domain::address::RegistryAddress;

/// Where a batch of registry addresses came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrySource {
    pub name: String,
    pub synthetic: bool,
    pub rows: u64,
    pub imported_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportOutcome {
    /// Addresses new to the registry.
    pub added: u64,
    /// Addresses already known, whose position or names were refreshed.
    pub updated: u64,
}

#[async_trait::async_trait]
pub trait AddressRegistryStore: Send + Sync {
    /// Stores a whole file in one transaction: all of it or nothing.
    async fn import_addresses(
        &self,
        source: &str,
        synthetic: bool,
        addresses: &[RegistryAddress],
    ) -> Result<ImportOutcome, StoreError>;

    /// The address at this postal code, street (any language, case and accents
    /// ignored) and house number; the first box when there are several.
    async fn geocode(
        &self,
        postcode: &str,
        street: &str,
        house_number: &str,
    ) -> Result<Option<RegistryAddress>, StoreError>;

    async fn count_addresses(&self) -> Result<u64, StoreError>;

    async fn registry_sources(&self) -> Result<Vec<RegistrySource>, StoreError>;
}
