//! `tocsin score-series [--config FILE] FILE.csv`: one signal (`timestamp,value` rows in time
//! order) scored online by the novelty and context detectors (`SeriesScorer`), weighted as the
//! ensemble weighs statistics (`score.weights.statistics` of the config; one signal has no
//! rules, forest or event codes, so that is its whole ensemble); prints
//! `timestamp,value,anomaly_score`, one row per input row. The offline interface for labelled
//! benchmarks such as NAB.

use std::io::{BufRead, Write};

use tocsin_engine::score::series::SeriesScorer;

/// Why a series could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {why}")]
    Row {
        path: String,
        line: usize,
        why: String,
    },
}

/// Reads `input` (CSV with a header naming `timestamp` and `value` columns) and writes the
/// scored CSV to `out`. A row whose value is not a number is an error naming its line: a
/// benchmark must not score a different series than it was given.
pub fn score_series(path: &str, input: impl BufRead, out: impl Write) -> Result<u64, SeriesError> {
    score_series_weighted(path, input, out, 1.0)
}

/// [`score_series`] with the ensemble's weight of statistics (0..1).
pub fn score_series_weighted(
    path: &str,
    input: impl BufRead,
    mut out: impl Write,
    weight: f64,
) -> Result<u64, SeriesError> {
    let weight = weight.clamp(0.0, 1.0);
    let io = |source| SeriesError::Io {
        path: path.to_string(),
        source,
    };
    let mut lines = input.lines();
    let header = match lines.next() {
        Some(h) => h.map_err(io)?,
        None => {
            return Err(SeriesError::Row {
                path: path.into(),
                line: 1,
                why: "empty file: expected a header `timestamp,value`".into(),
            })
        }
    };
    let cols: Vec<&str> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    let find = |name: &str| cols.iter().position(|c| c.eq_ignore_ascii_case(name));
    let (Some(ts_col), Some(value_col)) = (find("timestamp"), find("value")) else {
        return Err(SeriesError::Row {
            path: path.into(),
            line: 1,
            why: format!("the header {header:?} needs `timestamp` and `value` columns"),
        });
    };
    writeln!(out, "timestamp,value,anomaly_score").map_err(io)?;
    let mut scorer = SeriesScorer::default();
    let mut rows = 0;
    for (i, line) in lines.enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let row_err = |why: String| SeriesError::Row {
            path: path.into(),
            line: i + 2,
            why,
        };
        let ts = fields
            .get(ts_col)
            .ok_or_else(|| row_err("no timestamp column".into()))?
            .trim();
        let raw = fields
            .get(value_col)
            .ok_or_else(|| row_err("no value column".into()))?
            .trim();
        let value: f64 = raw
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| row_err(format!("value {raw:?} is not a number")))?;
        let s = scorer.score(value);
        writeln!(out, "{ts},{raw},{:.9}", weight * s.score).map_err(io)?;
        rows += 1;
    }
    out.flush().map_err(io)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<String, SeriesError> {
        let mut out = Vec::new();
        score_series("t.csv", text.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn one_scored_row_per_input_row_and_a_spike_scores_high() {
        let mut csv = String::from("timestamp,value\n");
        for i in 0..800 {
            let v = if i == 700 {
                500.0
            } else {
                100.0 + (i % 10) as f64
            };
            csv.push_str(&format!("2015-01-01 00:{:02}:00,{v}\n", i % 60));
        }
        let out = run(&csv).unwrap();
        let rows: Vec<&str> = out.lines().collect();
        assert_eq!(rows[0], "timestamp,value,anomaly_score");
        assert_eq!(rows.len(), 801);
        let score = |i: usize| {
            rows[i + 1]
                .rsplit(',')
                .next()
                .unwrap()
                .parse::<f64>()
                .unwrap()
        };
        assert!(score(700) > 0.9, "{}", rows[701]);
        assert!(score(699) < 0.5 && score(650) < 0.5);
        assert!(rows[701].starts_with("2015-01-01 00:40:00,500,"));
    }

    #[test]
    fn columns_are_found_by_name_and_bad_rows_name_their_line() {
        let out = run("value,timestamp\n3,t1\n4,t2\n").unwrap();
        assert!(out.lines().nth(1).unwrap().starts_with("t1,3,"));
        let e = run("timestamp,value\nt1,3\nt2,abc\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.csv:3: value \"abc\" is not a number");
        let e = run("time,v\n").unwrap_err().to_string();
        assert!(e.contains("needs `timestamp` and `value`"), "{e}");
        assert!(run("").unwrap_err().to_string().contains("empty file"));
    }
}
