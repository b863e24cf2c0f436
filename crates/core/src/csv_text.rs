//! CSV as the Peoplevox templates and cross-reference tables carry it: rows keyed by the header row.

use serde_json::{Map, Value};

/// CSV text [`csv_rows`] cannot read.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("CSV header: {0}")]
    Header(csv::Error),
    #[error("CSV: {0}")]
    Row(csv::Error),
}

/// CSV text (header row first) as rows keyed by column header, columns in header order.
pub fn csv_rows(text: &str) -> Result<Vec<Map<String, Value>>, CsvError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.trim_start_matches('\n').as_bytes());
    let headers = reader.headers().map_err(CsvError::Header)?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(CsvError::Row)?;
        let mut row = Map::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            row.insert(h.to_string(), Value::String(v.to_string()));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The column names of CSV text (its header row), in order.
pub fn csv_columns(text: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.trim_start_matches('\n').as_bytes());
    reader.headers().map(|h| h.iter().map(str::to_string).collect()).unwrap_or_default()
}

/// CSV text from column names and rows of values (quoting as needed).
pub fn csv_text(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let _ = writer.write_record(columns);
    for row in rows {
        let _ = writer.write_record(row);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_with_quotes() {
        let text = csv_text(&["A".into(), "B".into()], &[vec!["x, y".into(), "Zoë".into()]]);
        assert_eq!(text, "A,B\n\"x, y\",Zoë");
        let rows = csv_rows(&text).unwrap();
        assert_eq!(rows[0]["A"], "x, y");
        assert_eq!(csv_columns(&text), ["A", "B"]);
    }
}
