//! CSV with a header row — `text/csv` bodies and the CSV Peoplevox carries in `CsvData` and
//! `Detail` — redacted cell by cell, each cell at `<path>[row].<column header>`.

use csv::{QuoteStyle, ReaderBuilder, StringRecord, Terminator, WriterBuilder};

use super::{Redactor, Seg};

impl Redactor {
    /// The redacted CSV, or `None` when nothing changed. Text that is not CSV, or has no data row
    /// (Peoplevox puts messages in `Detail` too), is scanned as text. A changed table is written
    /// back with the original line ending and quoting (all quoted or as needed).
    pub(super) fn table(&mut self, text: &str, path: &[Seg]) -> Option<String> {
        let body = text.trim_start_matches(['\r', '\n']);
        let Some((headers, rows)) = parse(body).filter(|(_, rows)| !rows.is_empty()) else {
            return self.scan(text);
        };
        let mut changed = false;
        let mut redacted_rows = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let mut cells = Vec::with_capacity(row.len());
            for (column, cell) in row.iter().enumerate() {
                let mut cell_path = path.to_vec();
                cell_path.push(Seg::Index(i));
                cell_path.extend(headers.get(column).map(Seg::Key));
                match self.scalar(&cell_path, cell) {
                    Some(redacted) => {
                        changed = true;
                        cells.push(redacted);
                    }
                    None => cells.push(cell.to_string()),
                }
            }
            redacted_rows.push(cells);
        }
        if !changed {
            return None;
        }
        write(body, &headers, &redacted_rows)
            .map(|out| format!("{}{out}", &text[..text.len() - body.len()]))
            .or_else(|| self.scan(text))
    }
}

fn parse(body: &str) -> Option<(StringRecord, Vec<StringRecord>)> {
    let mut reader = ReaderBuilder::new().flexible(true).from_reader(body.as_bytes());
    let headers = reader.headers().ok()?.clone();
    let rows = reader.records().collect::<Result<_, _>>().ok()?;
    Some((headers, rows))
}

/// `headers` and `rows` as CSV in the style of `original`.
fn write(original: &str, headers: &StringRecord, rows: &[Vec<String>]) -> Option<String> {
    let (terminator, newline) =
        if original.contains("\r\n") { (Terminator::CRLF, "\r\n") } else { (Terminator::Any(b'\n'), "\n") };
    let quoting = if original.starts_with('"') { QuoteStyle::Always } else { QuoteStyle::Necessary };
    let mut writer =
        WriterBuilder::new().flexible(true).terminator(terminator).quote_style(quoting).from_writer(Vec::new());
    writer.write_record(headers).ok()?;
    for row in rows {
        writer.write_record(row).ok()?;
    }
    let mut out = String::from_utf8(writer.into_inner().ok()?).ok()?;
    if !original.ends_with('\n') && out.ends_with(newline) {
        out.truncate(out.len() - newline.len());
    }
    Some(out)
}
