//! One renderer per output format. All of them show the same [`Report`] numbers.

use std::fmt::Write as _;

use crate::escape::{control, markdown_code};

use super::dockerfile_map::{LayerLine, Match};
use super::{LayerReport, Report};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table(report),
        Format::Json => json(report),
        Format::Markdown => markdown(report),
    }
}

fn json(report: &Report) -> String {
    // The report holds only strings, integers and finite floats: serializing cannot fail.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// Human-readable bytes, powers of 1000 like `docker images` and dive.
pub fn human(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `/bin/sh -c #(nop) ` is how the classic builder spells a metadata instruction; it says nothing.
fn instruction(text: Option<&str>, width: usize) -> String {
    let text = text.unwrap_or("(no history)");
    let text = text.strip_prefix("/bin/sh -c #(nop) ").or_else(|| text.strip_prefix("/bin/sh -c ")).unwrap_or(text);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // History text comes from the image: nothing in it may steer the terminal.
    let one_line = control(&one_line).into_owned();
    if one_line.chars().count() > width {
        let cut: String = one_line.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// What the instruction column shows: `Dockerfile:LINE` and the instruction when the report has
/// a mapping (the file's name only, to keep the column short; the JSON has the path).
fn layer_label(r: &Report, l: &LayerReport, width: usize) -> String {
    let (Some(map), Some(line)) = (&r.dockerfile, &l.dockerfile) else {
        return instruction(l.instruction.as_deref(), width);
    };
    let Some(start) = line.line else {
        return format!("(unmapped) {}", instruction(l.instruction.as_deref(), width));
    };
    let file = control(file_name(&map.file));
    let at = match (line.how, line.end_line) {
        (Match::Squashed, Some(end)) if end != start => format!("{file}:{start}-{end}"),
        _ => format!("{file}:{start}"),
    };
    let tag = if line.how == Match::BaseImage { " (base image)" } else { "" };
    format!("{at} {}{tag}", instruction(line.instruction.as_deref(), width))
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Notes under a layer row: why it is unmapped or squashed.
fn layer_reason(line: Option<&LayerLine>) -> Option<&str> {
    line.and_then(|l| l.reason.as_deref())
}

/// The Dockerfile, line by line: the layers each instruction made and their bytes.
fn dockerfile_lines(r: &Report) -> Vec<String> {
    let Some(map) = &r.dockerfile else {
        return Vec::new();
    };
    map.instructions
        .iter()
        .map(|i| {
            let bytes: u64 = i.layers.iter().filter_map(|&n| r.layers.get(n)).map(|l| l.content_bytes).sum();
            let made = match i.layers.as_slice() {
                [] => "no layer".to_string(),
                [one] => format!("layer {one}, {}", human(bytes)),
                many => format!("layers {}-{}, {}", many[0], many[many.len() - 1], human(bytes)),
            };
            let note = i.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
            let at = format!("{}:{}", control(file_name(&map.file)), i.line);
            format!("{at:<16} {made:<22} {}{note}", instruction(Some(&i.instruction), 70))
        })
        .collect()
}

fn bar(part: u64, whole: u64, width: usize) -> String {
    let filled = if whole == 0 { 0 } else { ((part as f64 / whole as f64) * width as f64).round() as usize };
    format!("{}{}", "█".repeat(filled.min(width)), "·".repeat(width - filled.min(width)))
}

fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Image: {}{}",
        control(&r.image.to_string()),
        if r.verified { " (digests verified)" } else { "" }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>3}  {:>10}  {:>10}  {:>10}  {:20}  {:>6} {:>6} {:>6}  Instruction",
        "#", "Content", "Compressed", "Invisible", "", "Added", "Chgd", "Rmvd"
    );
    let largest = r.layers.iter().map(|l| l.content_bytes).max().unwrap_or(0);
    for l in &r.layers {
        let _ = writeln!(
            out,
            "{:>3}  {:>10}  {:>10}  {:>10}  {}  {:>6} {:>6} {:>6}  {}{}",
            l.index,
            human(l.content_bytes),
            human(l.compressed_bytes),
            human(l.invisible_bytes),
            bar(l.content_bytes, largest, 20),
            l.files_added,
            l.files_changed,
            l.files_removed,
            if l.base { "[base] " } else { "" },
            layer_label(r, l, 60)
        );
        if let Some(reason) = layer_reason(l.dockerfile.as_ref()) {
            let _ = writeln!(out, "{:>41}  └ {}", "", control(reason));
        }
        for h in &l.hidden_by {
            let _ = writeln!(out, "{:>41}  └ {} in {} files hidden by layer {}", "", human(h.bytes), h.files, h.layer);
        }
    }
    let _ = writeln!(out);
    for (label, value) in summary(r) {
        let _ = writeln!(out, "{:<19}{value}", format!("{label}:"));
    }
    if let Some(map) = &r.dockerfile {
        let title = format!(
            "{}, line by line (stage {}{})",
            map.file,
            map.target_stage,
            if map.complete { "" } else { "; history and Dockerfile disagree" }
        );
        section(&mut out, &title, dockerfile_lines(r).into_iter());
    }
    section(
        &mut out,
        "Largest files",
        r.largest_files.iter().map(|f| format!("{:>10}  layer {:<3} /{}", human(f.bytes), f.layer, control(&f.path))),
    );
    section(
        &mut out,
        "Largest invisible files",
        r.invisible_files.iter().map(|f| {
            format!(
                "{:>10}  layer {:<3} /{}  ({:?} by layer {})",
                human(f.bytes),
                f.layer,
                control(&f.path),
                f.how,
                f.hidden_by
            )
        }),
    );
    section(
        &mut out,
        "Caches left in the final filesystem",
        r.caches.iter().map(|c| {
            format!("{:>10}  {:<15} {} files in /{}", human(c.bytes), c.cache, c.files, control(&c.paths.join(", /")))
        }),
    );
    out
}

/// The image totals, labelled; the table and markdown show the same lines.
fn summary(r: &Report) -> Vec<(String, String)> {
    let t = &r.totals;
    let d = &r.dive;
    vec![
        ("Total content".into(), format!("{} ({} B) in {} layers", human(t.content_bytes), t.content_bytes, t.layers)),
        ("Stored".into(), format!("{} compressed, {} as tar", human(t.compressed_bytes), human(t.uncompressed_bytes))),
        (
            format!("Base ({} layers)", t.base_layers),
            format!("{}, user layers {}", human(t.base_bytes), human(t.user_bytes)),
        ),
        (
            "Final filesystem".into(),
            format!("{} ({} B) in {} files", human(t.final_fs_bytes), t.final_fs_bytes, t.final_files),
        ),
        (
            "Reclaimable".into(),
            format!(
                "{} ({} B, {:.1}% of content)",
                human(t.reclaimable_bytes),
                t.reclaimable_bytes,
                t.wasted_ratio * 100.0
            ),
        ),
        ("Efficiency".into(), format!("{:.2}%", t.efficiency * 100.0)),
        (
            "dive 0.13".into(),
            format!(
                "efficiency {:.2}%, wastedBytes {} ({} B), userWastedPercent {}",
                d.efficiency * 100.0,
                human(d.wasted_bytes),
                d.wasted_bytes,
                d.user_wasted_percent.map_or("n/a".to_string(), |p| format!("{:.2}%", p * 100.0))
            ),
        ),
    ]
}

fn section(out: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let lines: Vec<String> = lines.collect();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}:");
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
}

fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Image {}\n", markdown_code(&r.image.to_string()));
    let _ = writeln!(out, "| Layer | Content | Compressed | Invisible | Added | Changed | Removed | Instruction |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---|");
    for l in &r.layers {
        let hidden: Vec<String> =
            l.hidden_by.iter().map(|h| format!("{} by layer {}", human(h.bytes), h.layer)).collect();
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {}{} | {} | {} | {} | {} |",
            l.index,
            if l.base { " (base)" } else { "" },
            human(l.content_bytes),
            human(l.compressed_bytes),
            human(l.invisible_bytes),
            if hidden.is_empty() { String::new() } else { format!(" ({})", hidden.join(", ")) },
            l.files_added,
            l.files_changed,
            l.files_removed,
            markdown_code(&layer_label(r, l, 80))
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| | |\n|---|---|");
    for (label, value) in summary(r) {
        let _ = writeln!(out, "| {label} | {value} |");
    }
    let list = |out: &mut String, title: &str, rows: Vec<String>| {
        if !rows.is_empty() {
            let _ = writeln!(out, "\n**{title}**\n");
            for row in rows {
                let _ = writeln!(out, "- {row}");
            }
        }
    };
    let unmapped: Vec<String> = r
        .layers
        .iter()
        .filter_map(|l| {
            layer_reason(l.dockerfile.as_ref())
                .map(|why| format!("layer {}: {}", l.index, control(&why.replace('`', "'"))))
        })
        .collect();
    list(&mut out, "Layer notes", unmapped);
    list(&mut out, "Dockerfile, line by line", dockerfile_lines(r).into_iter().map(|l| markdown_code(&l)).collect());
    list(
        &mut out,
        "Largest files",
        r.largest_files
            .iter()
            .map(|f| format!("{} {} (layer {})", markdown_code(&format!("/{}", f.path)), human(f.bytes), f.layer))
            .collect(),
    );
    list(
        &mut out,
        "Largest invisible files",
        r.invisible_files
            .iter()
            .map(|f| {
                format!(
                    "{} {} (layer {}, {:?} by layer {})",
                    markdown_code(&format!("/{}", f.path)),
                    human(f.bytes),
                    f.layer,
                    f.how,
                    f.hidden_by
                )
            })
            .collect(),
    );
    list(
        &mut out,
        "Caches left",
        r.caches
            .iter()
            .map(|c| {
                let paths: Vec<String> = c.paths.iter().map(|p| markdown_code(&format!("/{p}"))).collect();
                format!("{} {} ({} files in {})", c.cache, human(c.bytes), c.files, paths.join(", "))
            })
            .collect(),
    );
    out
}
