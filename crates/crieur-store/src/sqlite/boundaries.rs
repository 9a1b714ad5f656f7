use super::SqliteStore;
use crate::rows::boundary;
use crate::{BoundaryStore, StoreError, StoredBoundary};
use rusqlite::params;

#[async_trait::async_trait]
impl BoundaryStore for SqliteStore {
    async fn save_boundaries(&self, boundaries: &[StoredBoundary]) -> Result<usize, StoreError> {
        let boundaries = boundaries.to_vec();
        self.writer
            .write(move |db| {
                let mut insert = db.prepare_cached(
                    "INSERT INTO territory_boundaries (nis, geometry, source) VALUES (?1, ?2, ?3)
                     ON CONFLICT (nis) DO UPDATE SET geometry = excluded.geometry,
                         source = excluded.source, imported_at = excluded.imported_at",
                )?;
                for b in &boundaries {
                    insert.execute(params![b.nis.as_str(), b.geometry_geojson, b.source])?;
                }
                Ok(boundaries.len())
            })
            .await
    }

    async fn boundaries(&self) -> Result<Vec<StoredBoundary>, StoreError> {
        let rows =
            sqlx::query("SELECT nis, geometry, source FROM territory_boundaries ORDER BY nis")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(boundary).collect()
    }
}
