use super::SqliteStore;
use crate::{BoundaryStore, StoreError, StoredBoundary};
use sqlx::Row;

#[async_trait::async_trait]
impl BoundaryStore for SqliteStore {
    async fn save_boundaries(&self, boundaries: &[StoredBoundary]) -> Result<usize, StoreError> {
        let mut tx = self.writer.begin().await?;
        for b in boundaries {
            sqlx::query(
                "INSERT INTO territory_boundaries (nis, geometry, source) VALUES (?1, ?2, ?3)
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
        let rows =
            sqlx::query("SELECT nis, geometry, source FROM territory_boundaries ORDER BY nis")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| {
                let nis: String = r.try_get("nis")?;
                Ok(StoredBoundary {
                    nis: nis
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("territory_boundaries: {e}")))?,
                    geometry_geojson: r.try_get("geometry")?,
                    source: r.try_get("source")?,
                })
            })
            .collect()
    }
}
