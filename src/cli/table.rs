//! Terminal output: aligned tables and status colours (only on a terminal,
//! and never with NO_COLOR set).

use std::io::IsTerminal;

/// Whether stdout takes colours.
pub fn colours() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The ANSI colour of a sync, health or operation status.
fn colour_of(status: &str) -> Option<&'static str> {
    Some(match status {
        "Synced" | "Healthy" | "Succeeded" => "32",
        "OutOfSync" | "Missing" | "Running" | "requiresPruning" => "33",
        "Degraded" | "Failed" | "Error" | "SyncFailed" => "31",
        "Progressing" => "34",
        "Suspended" => "35",
        "Unknown" => "90",
        _ => return None,
    })
}

/// Rows in columns two spaces apart, like kubectl; the first row is the header.
pub fn render(rows: &[Vec<String>], colour: bool) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let last = c + 1 == row.len();
            let pad = if last {
                0
            } else {
                widths[c] - cell.chars().count() + 3
            };
            let painted = match colour_of(cell) {
                Some(code) if colour && n > 0 => format!("\x1b[{code}m{cell}\x1b[0m"),
                _ => cell.clone(),
            };
            line.push_str(&painted);
            line.push_str(&" ".repeat(pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One status word, coloured when `colour`.
pub fn paint(status: &str, colour: bool) -> String {
    match colour_of(status) {
        Some(code) if colour => format!("\x1b[{code}m{status}\x1b[0m"),
        _ => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn columns_line_up_and_colour_leaves_the_alignment() {
        let rows = [
            row(&["NAME", "SYNC", "HEALTH"]),
            row(&["guestbook", "Synced", "Healthy"]),
            row(&["db", "OutOfSync", "Degraded"]),
        ];
        assert_eq!(
            render(&rows, false),
            "NAME        SYNC        HEALTH\nguestbook   Synced      Healthy\ndb          OutOfSync   Degraded\n"
        );
        let coloured = render(&rows, true);
        assert!(
            coloured.contains("\x1b[32mSynced\x1b[0m      "),
            "{coloured:?}"
        );
        assert!(coloured.starts_with("NAME "), "headers are never coloured");
        let plain: String = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(plain, render(&rows, false));
    }
}
