use super::SqliteStore;
use crate::rows::{REGISTRY_ADDRESS, folded, registry_address, registry_source};
use crate::{AddressRegistryStore, ImportOutcome, RegistrySource, StoreError};
use crieur_domain::address::RegistryAddress;
use crieur_domain::text::fold;
use rusqlite::params;

#[async_trait::async_trait]
impl AddressRegistryStore for SqliteStore {
    async fn import_addresses(
        &self,
        source: &str,
        synthetic: bool,
        addresses: &[RegistryAddress],
    ) -> Result<ImportOutcome, StoreError> {
        let (source, addresses) = (source.to_owned(), addresses.to_vec());
        self.writer
            .write(move |db| {
                let count = |db: &rusqlite::Connection| {
                    db.query_row("SELECT count(*) FROM registry_addresses", [], |r| {
                        r.get::<_, i64>(0)
                    })
                };
                let before = count(db)?;
                let source_id: i64 = db.query_row(
                    "INSERT INTO registry_sources (name, synthetic, rows) VALUES (?1, ?2, ?3) RETURNING id",
                    params![source, synthetic, addresses.len() as i64],
                    |r| r.get(0),
                )?;
                let mut insert = db.prepare_cached(
                    "INSERT INTO registry_addresses (street_nl, street_fr, street_de, key_nl, key_fr,
                         key_de, street_key, house_number, box_number, postcode, municipality, lon, lat,
                         source_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT (postcode, street_key, house_number, box_number) DO UPDATE SET
                         street_nl = excluded.street_nl, street_fr = excluded.street_fr,
                         street_de = excluded.street_de, municipality = excluded.municipality,
                         lon = excluded.lon, lat = excluded.lat, source_id = excluded.source_id",
                )?;
                for a in &addresses {
                    insert.execute(params![
                        a.street_nl,
                        a.street_fr,
                        a.street_de,
                        folded(&a.street_nl),
                        folded(&a.street_fr),
                        folded(&a.street_de),
                        a.street_keys().join("|"),
                        a.house_number,
                        a.box_number.clone().unwrap_or_default(),
                        a.postcode,
                        a.municipality.as_str(),
                        a.lon,
                        a.lat,
                        source_id
                    ])?;
                }
                let added = (count(db)? - before).max(0) as u64;
                Ok(ImportOutcome {
                    added,
                    updated: addresses.len() as u64 - added,
                })
            })
            .await
    }

    async fn geocode(
        &self,
        postcode: &str,
        street: &str,
        house_number: &str,
    ) -> Result<Option<RegistryAddress>, StoreError> {
        let key = fold(street);
        let sql = format!(
            "SELECT {REGISTRY_ADDRESS}
             FROM registry_addresses
             WHERE postcode = ?1 AND (key_nl = ?2 OR key_fr = ?2 OR key_de = ?2)
               AND house_number = ?3
             ORDER BY box_number LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(postcode.trim())
            .bind(&key)
            .bind(house_number.trim())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(registry_address).transpose()
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
        rows.iter().map(registry_source).collect()
    }
}
