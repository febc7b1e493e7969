//! Reading a CSV file as it comes out of Excel, a CRM or a BI tool: a UTF-8 byte-order
//! mark, Latin-1 text, commas, semicolons or tabs, quoted newlines, blank lines and
//! repeated or empty header names. Records stream from disk; nothing holds the whole file.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

use crate::{Error, Result};

/// How much of the file the sniffing looks at.
const SNIFF_BYTES: usize = 64 * 1024;

/// What was learned about a file's layout before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub delimiter: u8,
    /// Header names, made unique ("Name", "Name (2)") and never empty ("Column 7").
    pub headers: Vec<String>,
    /// Names that appeared more than once in the header row, as written.
    pub repeated: Vec<String>,
    /// True when some header cell was not UTF-8 and was read as Latin-1.
    pub latin1: bool,
    pub size_bytes: u64,
    /// Lines end in CRLF (Excel on Windows).
    pub crlf: bool,
}

/// One data record: where it starts in the file and its cells, decoded and trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub cells: Vec<String>,
    /// Some cell was not UTF-8 and was read as Latin-1.
    pub latin1: bool,
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Text of a cell: UTF-8 when it is, else Windows-1252 (the superset of Latin-1 that
/// Excel writes), so "Müller GmbH" survives either way.
pub fn decode(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), false),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text, true)
        }
    }
}

/// Picks the delimiter that splits the header line into the most fields.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let mut in_quotes = false;
        let mut n = 0;
        for b in first_line {
            match *b {
                b'"' => in_quotes = !in_quotes,
                x if x == d && !in_quotes => n += 1,
                _ => {}
            }
        }
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

fn reader(path: &Path, delimiter: u8, crlf: bool) -> Result<csv::Reader<CountingReader>> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(CountingReader {
            inner: BufReader::with_capacity(256 * 1024, file),
            read: 0,
            strip_cr: crlf,
        }))
}

/// Counts bytes as the CSV reader pulls them, for a progress bar over the file size.
/// In a CRLF file it drops the CRs: the csv crate miscounts lines across CRLF blank
/// lines, and line numbers are what the error report points at.
pub struct CountingReader {
    inner: BufReader<File>,
    read: u64,
    strip_cr: bool,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            if !self.strip_cr || n == 0 {
                return Ok(n);
            }
            let mut kept = 0;
            for i in 0..n {
                if buf[i] != b'\r' {
                    buf[kept] = buf[i];
                    kept += 1;
                }
            }
            // Zero would read as end of file: a chunk of only CRs reads on.
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

/// Line the record just read started on, from where the reader now stands (the csv
/// crate's own record positions count skipped blank lines into the next record). A last
/// record without a line break ends on the line it started, hence `earliest`: the line
/// after the previous record.
fn start_line<R: Read>(rdr: &csv::Reader<R>, record: &csv::ByteRecord, earliest: u64) -> u64 {
    let inner_newlines: u64 = record
        .iter()
        .map(|c| c.iter().filter(|b| **b == b'\n').count() as u64)
        .sum();
    let after = rdr.position().line();
    after.saturating_sub(1 + inner_newlines).max(earliest)
}

fn strip_bom(cell: &[u8]) -> &[u8] {
    cell.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(cell)
}

/// Reads the header row and sniffs the layout.
pub fn layout(path: &Path) -> Result<Layout> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(Error::invalid(
            path.display().to_string(),
            "is a folder, not a CSV file",
        ));
    }
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    File::open(path)
        .map_err(|e| io_error(path, e))?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, e))?;
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Err(Error::invalid(
            path.display().to_string(),
            "is UTF-16 text; save it as \"CSV UTF-8\" and try again",
        ));
    }
    if head.contains(&0) || head.starts_with(b"PK\x03\x04") {
        return Err(Error::invalid(
            path.display().to_string(),
            "is not a text file (an .xlsx workbook? save it as CSV first)",
        ));
    }
    let delimiter = sniff_delimiter(strip_bom(&head));
    let crlf = head.windows(2).any(|w| w == b"\r\n");
    let mut rdr = reader(path, delimiter, crlf)?;
    let mut record = csv::ByteRecord::new();
    let mut latin1 = false;
    let mut raw = Vec::new();
    loop {
        let more = rdr
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(path, e))?;
        if !more {
            return Err(Error::invalid(
                path.display().to_string(),
                "is empty: it needs a header row naming its columns",
            ));
        }
        if record
            .iter()
            .any(|c| !c.iter().all(u8::is_ascii_whitespace))
        {
            break;
        }
    }
    for (i, cell) in record.iter().enumerate() {
        let cell = if i == 0 { strip_bom(cell) } else { cell };
        let (text, was_latin1) = decode(cell);
        latin1 |= was_latin1;
        raw.push(text.trim().to_string());
    }
    let (headers, repeated) = unique_headers(&raw);
    Ok(Layout {
        delimiter,
        headers,
        repeated,
        latin1,
        size_bytes: meta.len(),
        crlf,
    })
}

fn unique_headers(raw: &[String]) -> (Vec<String>, Vec<String>) {
    let mut headers: Vec<String> = Vec::with_capacity(raw.len());
    let mut repeated = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let base = if name.is_empty() {
            format!("Column {}", i + 1)
        } else {
            name.clone()
        };
        let mut candidate = base.clone();
        let mut n = 1;
        while headers.iter().any(|h| h.eq_ignore_ascii_case(&candidate)) {
            n += 1;
            candidate = format!("{base} ({n})");
        }
        if n > 1 && !repeated.contains(&base) {
            repeated.push(base);
        }
        headers.push(candidate);
    }
    (headers, repeated)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let at = e
        .position()
        .map(|p| format!(" at line {}", p.line()))
        .unwrap_or_default();
    Error::invalid(
        format!("{}{at}", path.display()),
        format!("cannot be read as CSV: {e}"),
    )
}

/// Streams the data records after the header row, skipping blank ones, until `each`
/// says stop. `progress` gets (bytes read, file size) every few thousand records.
pub fn records(
    path: &Path,
    layout: &Layout,
    mut each: impl FnMut(Record) -> ControlFlow<()>,
    mut progress: impl FnMut(u64, u64),
) -> Result<()> {
    let mut rdr = reader(path, layout.delimiter, layout.crlf)?;
    let mut record = csv::ByteRecord::new();
    let mut header_seen = false;
    let mut n = 0u64;
    let mut next_line = 1u64;
    while rdr
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line = start_line(&rdr, &record, next_line);
        next_line = rdr.position().line().max(line + 1);
        if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            continue;
        }
        let mut latin1 = false;
        let cells = record
            .iter()
            .map(|c| {
                let (text, was_latin1) = decode(c);
                latin1 |= was_latin1;
                // A cell a Riskdesk file guarded against spreadsheet formulas reads back
                // as it was (see csv_safe).
                crate::csv_safe::unquote(text.trim()).trim().to_string()
            })
            .collect();
        if each(Record {
            line,
            cells,
            latin1,
        })
        .is_break()
        {
            return Ok(());
        }
        n += 1;
        if n.is_multiple_of(4096) {
            progress(rdr.get_ref().read, layout.size_bytes);
        }
    }
    progress(layout.size_bytes, layout.size_bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("in.csv");
        std::fs::write(&path, bytes).expect("write");
        (dir, path)
    }

    fn all(path: &Path) -> (Layout, Vec<Record>) {
        let layout = layout(path).expect("layout");
        let mut out = Vec::new();
        records(
            path,
            &layout,
            |r| {
                out.push(r);
                ControlFlow::Continue(())
            },
            |_, _| {},
        )
        .expect("records");
        (layout, out)
    }

    #[test]
    fn reads_messy_excel_exports() {
        // BOM, semicolons, a quoted newline, blank lines, a repeated and an empty header,
        // Latin-1 text.
        let mut bytes = b"\xEF\xBB\xBFName;ARR;Name;\r\n\r\n".to_vec();
        bytes.extend_from_slice(b"\"Acme\nHoldings\";\"1 200,00\";x;y\r\n");
        bytes.extend_from_slice(b";;;\r\n");
        bytes.extend_from_slice(b"M\xFCller GmbH;5;z;w\r\n");
        let (_dir, path) = file(&bytes);
        let (layout, rows) = all(&path);
        assert_eq!(layout.delimiter, b';');
        assert_eq!(layout.headers, ["Name", "ARR", "Name (2)", "Column 4"]);
        assert_eq!(layout.repeated, ["Name"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cells[0], "Acme\nHoldings");
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[1].cells[0], "Müller GmbH");
        assert_eq!(rows[1].line, 6);
    }

    #[test]
    fn tabs_and_quoted_delimiters() {
        // The last line has no line break.
        let (_dir, path) = file(b"\"a,b\"\tc\n1\t2\n3\t4");
        let (layout, rows) = all(&path);
        assert_eq!(layout.delimiter, b'\t');
        assert_eq!(layout.headers, ["a,b", "c"]);
        assert_eq!(rows[0].cells, ["1", "2"]);
        assert_eq!((rows[0].line, rows[1].line), (2, 3));
    }

    #[test]
    fn refuses_what_is_not_csv_text() {
        let (_d1, empty) = file(b"\n\n");
        assert!(layout(&empty).unwrap_err().to_string().contains("empty"));
        let (_d2, utf16) = file(b"\xFF\xFEN\x00a\x00");
        assert!(layout(&utf16).unwrap_err().to_string().contains("UTF-16"));
        let (_d3, xlsx) = file(b"PK\x03\x04rest");
        assert!(layout(&xlsx).unwrap_err().to_string().contains("xlsx"));
        let missing = Path::new("/nonexistent/riskdesk.csv");
        let err = layout(missing).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/riskdesk.csv"), "{err}");
    }
}
