//! One renderer per output format. All of them show the same [`Report`] numbers.

use std::fmt::Write as _;

use crate::escape::{control, markdown_code};

use super::compare::{Change, Comparison, FindingKind, LineSide};
use super::dockerfile_map::{LayerLine, Match};
use super::{LayerReport, Report};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

/// Packages the table and markdown list unless told to list them all.
pub const TOP_PACKAGES: usize = 10;

pub fn render(report: &Report, format: Format) -> String {
    render_with(report, format, TOP_PACKAGES)
}

/// [`render`], listing `packages` of the largest packages (JSON always has them all).
pub fn render_with(report: &Report, format: Format, packages: usize) -> String {
    match format {
        Format::Table => table(report, packages),
        Format::Json => json(report),
        Format::Markdown => markdown(report, packages),
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

/// `[base] ` before a base layer's instruction, with the base image's name when the image
/// records it (`[base debian:12] `).
fn base_tag(r: &Report, l: &LayerReport) -> String {
    match (l.base, &r.base_image) {
        (false, _) => String::new(),
        (true, Some(name)) => format!("[base {}] ", control(name)),
        (true, None) => "[base] ".to_string(),
    }
}

/// Why the Dockerfile given with `-f` is not the one the image was built from.
fn mismatch(r: &Report) -> Option<&str> {
    r.dockerfile.as_ref().and_then(|m| m.mismatch.as_deref())
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
    // Not the Dockerfile the image was built from: its lines made none of the layers.
    let Some(map) = r.dockerfile.as_ref().filter(|m| m.mismatch.is_none()) else {
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

fn table(r: &Report, packages: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Image: {}{}",
        control(&r.image.to_string()),
        if r.verified { " (digests verified)" } else { "" }
    );
    if let Some(why) = mismatch(r) {
        let _ = writeln!(out, "Warning: {}; no layer is attributed to a line", control(why));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>3}  {:>10}  {:>10}  {:>10}  {:20}  {:>6} {:>6} {:>6}  Instruction",
        "#", "Content", "Stored", "Invisible", "", "Added", "Chgd", "Rmvd"
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
            base_tag(r, l),
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
    if !r.packages.is_empty() {
        let title = packages_title(r, packages);
        let _ = writeln!(out, "\n{title}:");
        let _ = writeln!(out, "  {:>10}  {:>10}  {:<5}  {:<16} Package", "Bytes", "Hidden", "Layer", "Line");
        for p in r.packages.iter().take(packages) {
            let line = package_line(r, p);
            let _ = writeln!(
                out,
                "  {:>10}  {:>10}  {:<5}  {:<16} {} {} {}{}",
                human(p.bytes),
                human(p.hidden_bytes),
                p.layer,
                line,
                p.manager.name(),
                p.name,
                p.version,
                why(p).map(|w| format!("  ({w})")).unwrap_or_default()
            );
        }
    }
    section(
        &mut out,
        "Unowned files (no package lists them), by directory",
        r.unowned.iter().take(packages).map(|u| format!("{:>10}  {:>6} files  /{}", human(u.bytes), u.files, u.dir)),
    );
    section(&mut out, "Package databases", database_lines(r).into_iter());
    out
}

fn packages_title(r: &Report, shown: usize) -> String {
    let total = r.packages.len();
    if shown >= total {
        format!("Packages ({total}, largest first)")
    } else {
        format!("Largest packages ({shown} of {total}; --packages lists all)")
    }
}

/// `Dockerfile:7` with a mapping, else nothing.
fn package_line(r: &Report, p: &super::packages::Package) -> String {
    match (&r.dockerfile, p.dockerfile_line) {
        (Some(map), Some(line)) => format!("{}:{line}", file_name(&map.file)),
        _ => String::new(),
    }
}

/// Why a package is there, in words.
fn why(p: &super::packages::Package) -> Option<String> {
    use super::packages::Reason;
    let via = if p.via.is_empty() { String::new() } else { format!(" via {}", p.via.join(" → ")) };
    Some(match p.reason? {
        Reason::Manual => "asked for".into(),
        Reason::Dependency => format!("dependency{via}"),
        Reason::Recommended => {
            format!("recommended{via}: installed because apt installs Recommends (--no-install-recommends)")
        }
        Reason::Auto => "installed automatically, nothing needs it now".into(),
    })
}

/// Each database found, with what was refused of it.
fn database_lines(r: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for d in &r.package_databases {
        let state = match &d.error {
            Some(e) => format!("not read: {e}"),
            None => format!("{} packages", d.packages),
        };
        lines.push(format!("{} /{} (layer {}): {state}", d.manager.name(), d.path, d.layer));
        lines.extend(d.notes.iter().map(|n| format!("  {n}")));
    }
    lines
}

/// How the layers are stored: the blobs' bytes, said compressed only where they are (a
/// `docker save` archive stores plain tars, whose size is no compressed size).
fn stored(r: &Report) -> String {
    let t = &r.totals;
    let compressed = r.layers.iter().filter(|l| l.compression != "none").count();
    match (compressed, r.layers.len()) {
        (0, _) => format!("{} as uncompressed tar", human(t.compressed_bytes)),
        (c, n) if c == n => format!("{} compressed, {} as tar", human(t.compressed_bytes), human(t.uncompressed_bytes)),
        (c, n) => format!(
            "{} ({c} of {n} layers compressed, the others uncompressed), {} as tar",
            human(t.compressed_bytes),
            human(t.uncompressed_bytes)
        ),
    }
}

/// The image totals, labelled; the table and markdown show the same lines.
fn summary(r: &Report) -> Vec<(String, String)> {
    let t = &r.totals;
    let d = &r.dive;
    vec![
        ("Total content".into(), format!("{} ({} B) in {} layers", human(t.content_bytes), t.content_bytes, t.layers)),
        ("Stored".into(), stored(r)),
        (
            format!("Base ({} layers)", t.base_layers),
            format!(
                "{}{}, user layers {}",
                human(t.base_bytes),
                r.base_image.as_deref().map(|n| format!(" ({})", control(n))).unwrap_or_default(),
                human(t.user_bytes)
            ),
        ),
        (
            "Final filesystem".into(),
            format!("{} ({} B) in {} files", human(t.final_fs_bytes), t.final_fs_bytes, t.final_files),
        ),
        (
            "Reclaimable".into(),
            format!(
                "{} ({} B, {:.1}% of content): your layers {}, base image {}",
                human(t.reclaimable_bytes),
                t.reclaimable_bytes,
                t.wasted_ratio * 100.0,
                human(t.reclaimable_user_bytes),
                human(t.reclaimable_base_bytes)
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

fn markdown(r: &Report, packages: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Image {}\n", markdown_code(&r.image.to_string()));
    if let Some(why) = mismatch(r) {
        let _ = writeln!(out, "> **Warning:** {}; no layer is attributed to a line\n", control(&why.replace('`', "'")));
    }
    let _ = writeln!(out, "| Layer | Content | Stored | Invisible | Added | Changed | Removed | Instruction |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---|");
    for l in &r.layers {
        let hidden: Vec<String> =
            l.hidden_by.iter().map(|h| format!("{} by layer {}", human(h.bytes), h.layer)).collect();
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {}{} | {} | {} | {} | {} |",
            l.index,
            match (l.base, &r.base_image) {
                (false, _) => String::new(),
                (true, Some(name)) => format!(" (base {})", markdown_code(name)),
                (true, None) => " (base)".to_string(),
            },
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
        &packages_title(r, packages),
        r.packages
            .iter()
            .take(packages)
            .map(|p| {
                let line = package_line(r, p);
                format!(
                    "{} `{}` {} {} (layer {}{}{}){}",
                    p.manager.name(),
                    p.name.replace('`', "'"),
                    p.version.replace('`', "'"),
                    human(p.bytes),
                    p.layer,
                    if line.is_empty() { String::new() } else { format!(", {line}") },
                    if p.hidden_bytes > 0 {
                        format!(", {} hidden later", human(p.hidden_bytes))
                    } else {
                        String::new()
                    },
                    why(p).map(|w| format!(": {}", w.replace('`', "'"))).unwrap_or_default()
                )
            })
            .collect(),
    );
    list(
        &mut out,
        "Unowned files, by directory",
        r.unowned
            .iter()
            .take(packages)
            .map(|u| format!("`/{}` {} in {} files", u.dir, human(u.bytes), u.files))
            .collect(),
    );
    list(&mut out, "Package databases", database_lines(r).into_iter().map(|l| l.replace('`', "'")).collect());
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

/// How a comparison is printed: analyze's formats, and `github` for the findings as workflow
/// commands (annotations on the after side's Dockerfile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ComparisonFormat {
    Table,
    Json,
    Markdown,
    Github,
}

impl From<Format> for ComparisonFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Table => ComparisonFormat::Table,
            Format::Json => ComparisonFormat::Json,
            Format::Markdown => ComparisonFormat::Markdown,
        }
    }
}

pub fn render_comparison(c: &Comparison, format: ComparisonFormat) -> String {
    match format {
        ComparisonFormat::Table => comparison_table(c),
        ComparisonFormat::Json => {
            let mut text = serde_json::to_string_pretty(c).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            text.push('\n');
            text
        }
        ComparisonFormat::Markdown => comparison_markdown(c),
        ComparisonFormat::Github => comparison_annotations(c),
    }
}

/// `+20.0 MB`, `-1.2 kB`, `0 B`.
pub fn signed_human(difference: i64) -> String {
    match difference {
        0 => "0 B".to_string(),
        d if d > 0 => format!("+{}", human(d.unsigned_abs())),
        d => format!("-{}", human(d.unsigned_abs())),
    }
}

/// The difference with its percentage of the before figure.
fn difference(change: &Change, bytes: bool) -> String {
    let amount = if bytes { signed_human(change.difference) } else { format!("{:+}", change.difference) };
    match change.percent() {
        Some(p) if change.difference != 0 => format!("{amount} ({p:+.1}%)"),
        _ => amount,
    }
}

/// The totals as (label, before, after, difference) rows.
fn comparison_totals(c: &Comparison) -> Vec<[String; 4]> {
    let t = &c.totals;
    let bytes = |label: &str, change: &Change| {
        [label.to_string(), human(change.before), human(change.after), difference(change, true)]
    };
    vec![
        bytes("Content", &t.content_bytes),
        bytes("Compressed", &t.compressed_bytes),
        bytes("As tar", &t.uncompressed_bytes),
        bytes("Final filesystem", &t.final_fs_bytes),
        bytes("Invisible", &t.reclaimable_bytes),
        ["Layers".to_string(), t.layers.before.to_string(), t.layers.after.to_string(), difference(&t.layers, false)],
    ]
}

/// `12`, `12-14`, or `—` for a side the line is not on.
fn line_number(side: Option<&LineSide>) -> String {
    match side.and_then(|s| s.line.map(|l| (l, s.end_line.unwrap_or(l)))) {
        Some((start, end)) if end != start => format!("{start}-{end}"),
        Some((start, _)) => start.to_string(),
        None if side.is_some() => "(history)".to_string(),
        None => "—".to_string(),
    }
}

/// The per-line rows as (line before, line after, content before, after, difference, instruction).
fn comparison_lines(c: &Comparison, width: usize) -> Vec<[String; 6]> {
    c.lines
        .iter()
        .map(|l| {
            let side_bytes = |side: &Option<LineSide>, bytes: u64| match side {
                Some(_) => human(bytes),
                None => "—".to_string(),
            };
            [
                line_number(l.before.as_ref()),
                line_number(l.after.as_ref()),
                side_bytes(&l.before, l.content_bytes.before),
                side_bytes(&l.after, l.content_bytes.after),
                signed_human(l.content_bytes.difference),
                instruction(Some(&l.instruction), width),
            ]
        })
        .collect()
}

fn comparison_table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Before: {}", control(&c.before));
    let _ = writeln!(out, "After:  {}\n", control(&c.after));
    let _ = writeln!(out, "{:<18} {:>12} {:>12}  Difference", "", "Before", "After");
    for [label, before, after, diff] in comparison_totals(c) {
        let _ = writeln!(out, "{label:<18} {before:>12} {after:>12}  {diff}");
    }
    let file = c.file.as_deref().map(file_name).unwrap_or("history");
    if c.lines.is_empty() {
        let _ = writeln!(out, "\nNo line's layers changed size.");
    } else {
        let _ = writeln!(out, "\nLines whose layers changed size ({}):", control(file));
        let _ = writeln!(
            out,
            "  {:>9} {:>9} {:>10} {:>10} {:>11}  Instruction",
            "Line was", "Line now", "Before", "After", "Difference"
        );
        for [was, now, before, after, diff, text] in comparison_lines(c, 70) {
            let _ = writeln!(out, "  {was:>9} {now:>9} {before:>10} {after:>10} {diff:>11}  {text}");
        }
    }
    section(&mut out, "Findings", c.findings.iter().map(|f| format!("line {}: {}", f.line, control(&f.message))));
    out
}

fn comparison_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    match &c.file {
        Some(file) => {
            let _ = writeln!(out, "### Image size: {}\n", markdown_code(file));
        }
        None => {
            let _ = writeln!(out, "### Image size\n");
        }
    }
    let _ = writeln!(out, "{} → {}\n", markdown_code(&c.before), markdown_code(&c.after));
    let _ = writeln!(out, "| | Before | After | Difference |\n|---|---:|---:|---:|");
    for [label, before, after, diff] in comparison_totals(c) {
        let _ = writeln!(out, "| {label} | {before} | {after} | {diff} |");
    }
    if c.lines.is_empty() {
        let _ = writeln!(out, "\nNo line's layers changed size.");
    } else {
        let _ = writeln!(out, "\n**Lines whose layers changed size**\n");
        let _ = writeln!(out, "| Line was | Line now | Before | After | Difference | Instruction |");
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---|");
        for [was, now, before, after, diff, text] in comparison_lines(c, 80) {
            let _ = writeln!(out, "| {was} | {now} | {before} | {after} | {diff} | {} |", markdown_code(&text));
        }
    }
    if !c.findings.is_empty() {
        let _ = writeln!(out, "\n**Findings**\n");
        for f in &c.findings {
            let _ = writeln!(out, "- line {}: {}", f.line, control(&f.message).replace('`', "'"));
        }
    }
    out
}

/// One `::warning` per finding, on the after side's Dockerfile.
fn comparison_annotations(c: &Comparison) -> String {
    use crate::escape::{workflow_data, workflow_property};
    let Some(file) = &c.file else { return String::new() };
    let mut out = String::new();
    for f in &c.findings {
        let title = match f.kind {
            FindingKind::Grows => "imgopt: image size",
            FindingKind::CleanupFreesNothing => "imgopt: cleanup frees nothing",
        };
        let _ = writeln!(
            out,
            "::warning file={},line={},endLine={},title={}::{}",
            workflow_property(file),
            f.line,
            f.end_line,
            workflow_property(title),
            workflow_data(&f.message)
        );
    }
    out
}
