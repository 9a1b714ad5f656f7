//! Official territorial boundaries imported over the embedded approximations.

use crate::StoreError;
use crieur_domain::NisCode;

/// A boundary as stored: the geometry is GeoJSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBoundary {
    pub nis: NisCode,
    pub geometry_geojson: String,
    pub source: String,
}

#[async_trait::async_trait]
pub trait BoundaryStore: Send + Sync {
    /// Stores all boundaries in one transaction, replacing earlier ones with the
    /// same NIS code. Either every boundary is stored or none.
    async fn save_boundaries(&self, boundaries: &[StoredBoundary]) -> Result<usize, StoreError>;

    /// Every stored boundary, by NIS code.
    async fn boundaries(&self) -> Result<Vec<StoredBoundary>, StoreError>;
}
