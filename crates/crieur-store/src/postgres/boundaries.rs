use super::PgStore;
use crate::rows::boundary;
use crate::{BoundaryStore, StoreError, StoredBoundary};

#[async_trait::async_trait]
impl BoundaryStore for PgStore {
    async fn save_boundaries(&self, boundaries: &[StoredBoundary]) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        for b in boundaries {
            sqlx::query(
                "INSERT INTO territory_boundaries (nis, geometry, source) VALUES ($1, $2, $3)
                 ON CONFLICT (nis) DO UPDATE SET geometry = excluded.geometry,
                     source = excluded.source, imported_at = excluded.imported_at",
            )
            .bind(b.nis.as_str())
            .bind(&b.geometry_geojson)
            .bind(&b.source)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(boundaries.len())
    }

    async fn boundaries(&self) -> Result<Vec<StoredBoundary>, StoreError> {
        sqlx::query("SELECT nis, geometry, source FROM territory_boundaries ORDER BY nis")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(boundary)
            .collect()
    }
}
