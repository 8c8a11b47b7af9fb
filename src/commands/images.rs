//! The store commands: `imgopt images`, `imgopt load`, `imgopt rmi`, `imgopt prune`.

use std::process::ExitCode;

use crate::analyze::render::human;
use crate::build::store::{canonical_name, ImageSummary, PruneOptions, Store};
use crate::image::{Image, ImageRef, OpenOptions};

/// `--format` of the commands that list things (`images`, `rules`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct ImagesArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// The image: oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME:TAG].
    pub reference: String,
    /// A name for it in the store (repeatable; default: the name the archive carries).
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct RmiArgs {
    /// Names to remove (`busybox` means docker.io/library/busybox:latest).
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// Also every step-cache entry, every snapshot and the RUN --mount=type=cache directories.
    #[arg(long)]
    pub all: bool,
    /// Remove least recently used first, only until the store takes no more than SIZE (20GB, 500MiB).
    #[arg(long, value_name = "SIZE", value_parser = crate::analyze::gates::parse_bytes)]
    pub keep_storage: Option<u64>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

fn store_error(e: impl std::fmt::Display) -> miette::Report {
    miette::miette!(code = "imgopt::store", "{e}")
}

fn open_store() -> miette::Result<Store> {
    Store::open_default().map_err(store_error)
}

/// `imgopt images`.
pub fn images(args: &ImagesArgs) -> miette::Result<ExitCode> {
    let store = open_store()?;
    let list = store.images().map_err(store_error)?;
    print!("{}", render_images(&list, args.format, now()));
    Ok(ExitCode::SUCCESS)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

pub fn render_images(list: &[ImageSummary], format: ListFormat, now: i64) -> String {
    if format == ListFormat::Json {
        let mut s = serde_json::to_string_pretty(list).expect("image list serializes");
        s.push('\n');
        return s;
    }
    let rows: Vec<[String; 4]> = list
        .iter()
        .map(|i| {
            [
                i.name.clone().unwrap_or_else(|| "<none>".into()),
                i.config.as_ref().map_or_else(|| "<missing>".into(), |d| d.hex().chars().take(12).collect()),
                i.created.as_deref().map_or_else(|| "N/A".into(), |c| ago(c, now)),
                human(i.blob_size),
            ]
        })
        .collect();
    let header = ["NAME", "IMAGE ID", "CREATED", "SIZE (STORED LAYER BLOBS)"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: [&str; 4]| {
        format!(
            "{:<w0$}   {:<w1$}   {:<w2$}   {}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    let mut out = line(header);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3]]));
    }
    out
}

/// Seconds since the epoch of an RFC 3339 time (`2024-05-01T12:00:00.123Z`, `+02:00`).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let hms = rest.get(..8)?;
    let mut t = hms.splitn(3, ':');
    let (hh, mm, ss) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    let mut tail = &rest[8..];
    if let Some(frac) = tail.strip_prefix('.') {
        tail = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match tail {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            let (oh, om) = tail.get(1..)?.split_once(':')?;
            sign * (num(oh)? * 3600 + num(om)? * 60)
        }
    };
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hh * 3600 + mm * 60 + ss - offset)
}

/// "3 minutes ago", as `docker images` says it.
pub fn ago(created: &str, now: i64) -> String {
    let Some(t) = parse_rfc3339(created) else { return created.to_string() };
    let s = now - t;
    if s < 1 {
        return "Less than a second ago".into();
    }
    let (n, unit) = match s {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86400 * 2 => (s / 3600, "hour"),
        s if s < 86400 * 14 => (s / 86400, "day"),
        s if s < 86400 * 60 => (s / (86400 * 7), "week"),
        s if s < 86400 * 365 * 2 => (s / (86400 * 30), "month"),
        s => (s / (86400 * 365), "year"),
    };
    if n == 1 {
        format!("{} {unit} ago", if unit == "hour" { "An" } else { "1" })
    } else {
        format!("{n} {unit}s ago")
    }
}

/// `imgopt load`: the image copied into the store; prints its names and manifest digest.
pub fn load(args: &LoadArgs) -> miette::Result<ExitCode> {
    let reference = ImageRef::parse(&args.reference)?;
    if matches!(reference, ImageRef::Registry(_)) {
        return Err(miette::miette!(
            code = "imgopt::load",
            help = "`FROM name` in a Dockerfile pulls from a registry into the store",
            "{}: load takes oci:DIR, oci-archive:FILE or docker-archive:FILE",
            args.reference
        ));
    }
    let store = open_store()?;
    let names = load_into(&store, &reference, &args.tags)?;
    Ok(if names.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Imports `reference` into `store` as `tags` (canonical names), or under the names the source
/// carries when there are none. Returns the names; prints one line per name.
pub fn load_into(store: &Store, reference: &ImageRef, tags: &[String]) -> miette::Result<Vec<String>> {
    let image = Image::open(reference, &OpenOptions::default())?;
    let given: Vec<String> = if tags.is_empty() { image.names.clone() } else { tags.to_vec() };
    if given.is_empty() {
        return Err(miette::miette!(
            code = "imgopt::load",
            help = "name it with -t NAME",
            "{reference} carries no image name"
        ));
    }
    let names = given
        .iter()
        .map(|n| canonical_name(n).map_err(|m| miette::miette!(code = "imgopt::load", "image name `{n}`: {m}")))
        .collect::<miette::Result<Vec<String>>>()?;
    let written =
        store.import(&image, &names).map_err(|e| miette::miette!(code = "imgopt::load", "{reference}: {e}"))?;
    // Unpacked now, as `docker load` does, so the first build on it starts at once.
    let stored = Image::open(
        &ImageRef::OciDir { dir: store.root.clone(), tag: Some(names[0].clone()) },
        &OpenOptions::default(),
    )?;
    crate::build::executor::unpack_image(store, &stored)
        .map_err(|e| miette::miette!(code = "imgopt::load", "{reference}: {e}"))?;
    let id: String = written.config_digest.hex().chars().take(12).collect();
    for n in &names {
        eprintln!("Loaded image: {n} (ID {id}, {} layers)", image.layers.len());
    }
    println!("{}", written.manifest.digest);
    Ok(names)
}

/// `imgopt rmi`: names removed from index.json; exit 2 naming each one that was not there.
pub fn rmi(args: &RmiArgs) -> miette::Result<ExitCode> {
    let store = open_store()?;
    let missing = store.untag(&args.names).map_err(store_error)?;
    for n in args.names.iter().filter(|n| !missing.contains(n)) {
        println!("Untagged: {n}");
    }
    if missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(miette::miette!(
        code = "imgopt::rmi",
        help = "`imgopt images` lists the names in the store",
        "no image named {} in {}",
        missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
        store.root.display()
    ))
}

/// `imgopt prune`.
pub fn prune(args: &PruneArgs) -> miette::Result<ExitCode> {
    let store = open_store()?;
    let opts = PruneOptions { all: args.all, keep_storage: args.keep_storage };
    let report =
        store.prune(&opts, || eprintln!("waiting for the builds using the store to finish…")).map_err(store_error)?;
    if args.format == ListFormat::Json {
        println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
    } else {
        println!(
            "freed {} ({} blobs, {} snapshots, {} cache entries, {} cache mounts); the store now takes {} (was {})",
            human(report.freed_bytes),
            report.blobs,
            report.snapshots,
            report.cache_entries,
            report.cache_mounts,
            human(report.store_bytes_after),
            human(report.store_bytes_before)
        );
        if let Some(keep) = args.keep_storage {
            if report.store_bytes_after > keep {
                eprintln!(
                    "the store is still above {}: the rest is named images (`imgopt rmi`) and what only --all removes",
                    human(keep)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_through_the_builder_formatter() {
        for t in [0, 951782400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&crate::build::executor::rfc3339(t)), Some(t));
        }
        assert_eq!(parse_rfc3339("2024-05-01T12:00:00.123456789+02:00"), parse_rfc3339("2024-05-01T10:00:00Z"));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn ages_read_like_docker() {
        let t = 1_700_000_000;
        let c = crate::build::executor::rfc3339(t);
        assert_eq!(ago(&c, t + 3 * 60 + 5), "3 minutes ago");
        assert_eq!(ago(&c, t + 3600), "An hour ago");
        assert_eq!(ago(&c, t + 3 * 86400), "3 days ago");
        assert_eq!(ago("garbage", t), "garbage");
    }
}
