use super::SqliteStore;
use crate::{AddressRegistryStore, ImportOutcome, RegistrySource, StoreError};
use crieur_domain::address::RegistryAddress;
use crieur_domain::text::fold;
use sqlx::{QueryBuilder, Row, Sqlite};

/// Rows per INSERT: one statement costs far more than one row, so batch.
const BATCH: usize = 500;

fn folded(s: &Option<String>) -> Option<String> {
    s.as_deref().map(fold).filter(|k| !k.is_empty())
}

#[async_trait::async_trait]
impl AddressRegistryStore for SqliteStore {
    async fn import_addresses(
        &self,
        source: &str,
        synthetic: bool,
        addresses: &[RegistryAddress],
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.writer.begin().await?;
        let before: i64 = sqlx::query_scalar("SELECT count(*) FROM registry_addresses")
            .fetch_one(&mut *tx)
            .await?;
        let source_id: i64 = sqlx::query_scalar(
            "INSERT INTO registry_sources (name, synthetic, rows) VALUES (?1, ?2, ?3) RETURNING id",
        )
        .bind(source)
        .bind(synthetic)
        .bind(addresses.len() as i64)
        .fetch_one(&mut *tx)
        .await?;
        for chunk in addresses.chunks(BATCH) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO registry_addresses (street_nl, street_fr, street_de, key_nl, key_fr, \
                 key_de, street_key, house_number, box_number, postcode, municipality, lon, lat, \
                 source_id) ",
            );
            q.push_values(chunk, |mut row, a| {
                row.push_bind(a.street_nl.clone())
                    .push_bind(a.street_fr.clone())
                    .push_bind(a.street_de.clone())
                    .push_bind(folded(&a.street_nl))
                    .push_bind(folded(&a.street_fr))
                    .push_bind(folded(&a.street_de))
                    .push_bind(a.street_keys().join("|"))
                    .push_bind(a.house_number.clone())
                    .push_bind(a.box_number.clone().unwrap_or_default())
                    .push_bind(a.postcode.clone())
                    .push_bind(a.municipality.to_string())
                    .push_bind(a.lon)
                    .push_bind(a.lat)
                    .push_bind(source_id);
            });
            q.push(
                " ON CONFLICT (postcode, street_key, house_number, box_number) DO UPDATE SET \
                 street_nl = excluded.street_nl, street_fr = excluded.street_fr, \
                 street_de = excluded.street_de, municipality = excluded.municipality, \
                 lon = excluded.lon, lat = excluded.lat, source_id = excluded.source_id",
            );
            q.build().execute(&mut *tx).await?;
        }
        let after: i64 = sqlx::query_scalar("SELECT count(*) FROM registry_addresses")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let added = (after - before).max(0) as u64;
        Ok(ImportOutcome {
            added,
            updated: addresses.len() as u64 - added,
        })
    }

    async fn geocode(
        &self,
        postcode: &str,
        street: &str,
        house_number: &str,
    ) -> Result<Option<RegistryAddress>, StoreError> {
        let key = fold(street);
        let row = sqlx::query(
            "SELECT street_nl, street_fr, street_de, house_number, box_number, postcode,
                    municipality, lon, lat
             FROM registry_addresses
             WHERE postcode = ?1 AND (key_nl = ?2 OR key_fr = ?2 OR key_de = ?2)
               AND house_number = ?3
             ORDER BY box_number LIMIT 1",
        )
        .bind(postcode.trim())
        .bind(&key)
        .bind(house_number.trim())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let municipality: String = r.try_get("municipality")?;
        let box_number: String = r.try_get("box_number")?;
        Ok(Some(RegistryAddress {
            street_nl: r.try_get("street_nl")?,
            street_fr: r.try_get("street_fr")?,
            street_de: r.try_get("street_de")?,
            house_number: r.try_get("house_number")?,
            box_number: Some(box_number).filter(|b| !b.is_empty()),
            postcode: r.try_get("postcode")?,
            municipality: municipality
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("registry_addresses: {e}")))?,
            lon: r.try_get("lon")?,
            lat: r.try_get("lat")?,
        }))
    }

    async fn count_addresses(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM registry_addresses")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn registry_sources(&self) -> Result<Vec<RegistrySource>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, synthetic, rows, imported_at FROM registry_sources ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(RegistrySource {
                    name: r.try_get("name")?,
                    synthetic: r.try_get("synthetic")?,
                    rows: r.try_get::<i64, _>("rows")? as u64,
                    imported_at: r.try_get("imported_at")?,
                })
            })
            .collect()
    }
}
