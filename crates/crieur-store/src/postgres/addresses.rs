use super::PgStore;
use crate::rows::{REGISTRY_ADDRESS, folded, registry_address, registry_source};
use crate::{AddressRegistryStore, ImportOutcome, RegistrySource, StoreError};
use crieur_domain::address::RegistryAddress;
use crieur_domain::text::fold;
use std::collections::HashMap;

/// Rows per INSERT: one statement per row would cost a round trip each.
const CHUNK: usize = 5_000;

#[async_trait::async_trait]
impl AddressRegistryStore for PgStore {
    async fn import_addresses(
        &self,
        source: &str,
        synthetic: bool,
        addresses: &[RegistryAddress],
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let count = "SELECT count(*) FROM registry_addresses";
        let before: i64 = sqlx::query_scalar(count).fetch_one(&mut *tx).await?;
        let source_id: i64 = sqlx::query_scalar(
            "INSERT INTO registry_sources (name, synthetic, rows) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(source)
        .bind(synthetic)
        .bind(addresses.len() as i64)
        .fetch_one(&mut *tx)
        .await?;
        for chunk in addresses.chunks(CHUNK) {
            // One statement cannot update a row twice: the file's last line for
            // an address wins, as it does when rows are stored one by one.
            let mut last: HashMap<(&str, String, &str, String), &RegistryAddress> = HashMap::new();
            let mut order = Vec::new();
            for a in chunk {
                let key = (
                    a.postcode.as_str(),
                    a.street_keys().join("|"),
                    a.house_number.as_str(),
                    a.box_number.clone().unwrap_or_default(),
                );
                if last.insert(key.clone(), a).is_none() {
                    order.push(key);
                }
            }
            let rows: Vec<_> = order.iter().map(|k| (k, last[k])).collect();
            let col = |f: &dyn Fn(&RegistryAddress) -> Option<String>| -> Vec<Option<String>> {
                rows.iter().map(|(_, a)| f(a)).collect()
            };
            sqlx::query(
                "INSERT INTO registry_addresses AS r (street_nl, street_fr, street_de, key_nl, key_fr,
                     key_de, street_key, house_number, box_number, postcode, municipality, lon, lat,
                     source_id)
                 SELECT nl, fr, de, knl, kfr, kde, sk, hn, bx, pc, m, lon, lat, $14
                 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                             $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[],
                             $12::FLOAT8[], $13::FLOAT8[])
                      AS u(nl, fr, de, knl, kfr, kde, sk, hn, bx, pc, m, lon, lat)
                 ON CONFLICT (postcode, street_key, house_number, box_number) DO UPDATE SET
                     street_nl = excluded.street_nl, street_fr = excluded.street_fr,
                     street_de = excluded.street_de, municipality = excluded.municipality,
                     lon = excluded.lon, lat = excluded.lat, source_id = excluded.source_id",
            )
            .bind(col(&|a| a.street_nl.clone()))
            .bind(col(&|a| a.street_fr.clone()))
            .bind(col(&|a| a.street_de.clone()))
            .bind(col(&|a| folded(&a.street_nl)))
            .bind(col(&|a| folded(&a.street_fr)))
            .bind(col(&|a| folded(&a.street_de)))
            .bind(rows.iter().map(|(k, _)| k.1.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|(k, _)| k.2).collect::<Vec<_>>())
            .bind(rows.iter().map(|(k, _)| k.3.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|(k, _)| k.0).collect::<Vec<_>>())
            .bind(
                rows.iter()
                    .map(|(_, a)| a.municipality.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(rows.iter().map(|(_, a)| a.lon).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, a)| a.lat).collect::<Vec<_>>())
            .bind(source_id)
            .execute(&mut *tx)
            .await?;
        }
        let after: i64 = sqlx::query_scalar(count).fetch_one(&mut *tx).await?;
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
        let sql = format!(
            "SELECT {REGISTRY_ADDRESS}
             FROM registry_addresses
             WHERE postcode = $1 AND (key_nl = $2 OR key_fr = $2 OR key_de = $2)
               AND house_number = $3
             ORDER BY box_number LIMIT 1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(postcode.trim())
            .bind(fold(street))
            .bind(house_number.trim())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(registry_address)
            .transpose()
    }

    async fn count_addresses(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM registry_addresses")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn registry_sources(&self) -> Result<Vec<RegistrySource>, StoreError> {
        sqlx::query("SELECT name, synthetic, rows, imported_at FROM registry_sources ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(registry_source)
            .collect()
    }
}
