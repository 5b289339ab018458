//! Silences.

use rusqlite::params;

use super::{AlertStore, StoreError};
use crate::alert::labels::LabelMatcher;
use crate::alert::silence::Silence;

impl AlertStore {
    /// Writes a silence (insert, or update by id, e.g. after expiring it).
    pub fn put_silence(&mut self, s: &Silence) -> Result<(), StoreError> {
        let matchers: Vec<String> = s.matchers.iter().map(ToString::to_string).collect();
        let matchers = serde_json::to_string(&matchers).unwrap_or_else(|_| "[]".to_string());
        self.conn
            .execute(
                "INSERT INTO silences (id, matchers, starts_ms, ends_ms, created_by, comment) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET \
                 matchers = excluded.matchers, starts_ms = excluded.starts_ms, \
                 ends_ms = excluded.ends_ms, created_by = excluded.created_by, \
                 comment = excluded.comment",
                params![
                    s.id,
                    matchers,
                    s.starts_ms,
                    s.ends_ms,
                    s.created_by,
                    s.comment
                ],
            )
            .map_err(self.err("write silence"))?;
        Ok(())
    }

    /// Every stored silence, in the order first written.
    pub fn load_silences(&self) -> Result<Vec<Silence>, StoreError> {
        type Raw = (String, String, i64, i64, String, String);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, matchers, starts_ms, ends_ms, created_by, comment FROM silences \
                 ORDER BY rowid",
            )
            .map_err(self.err("read silences"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(self.err("read silences"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, matchers, starts_ms, ends_ms, created_by, comment): Raw =
                row.map_err(self.err("read silences"))?;
            let matchers: Vec<LabelMatcher> = serde_json::from_str(&matchers)
                .map_err(|e| self.corrupt("silences", &id, "matchers", e.to_string()))?;
            out.push(Silence {
                id,
                matchers,
                starts_ms,
                ends_ms,
                created_by,
                comment,
            });
        }
        Ok(out)
    }
}
