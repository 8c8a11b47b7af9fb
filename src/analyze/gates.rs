//! CI gates, as dive's CI mode has them, applied to imgopt's exact figures:
//! - `max-wasted-bytes` (dive's `highestWastedBytes`): reclaimable bytes;
//! - `max-wasted-ratio` (dive's `highestUserWastedPercent`): reclaimable / content bytes;
//! - `min-efficiency` (dive's `lowestEfficiency`): 1 - reclaimable / content bytes.
//!
//! The reclaimable bytes are those of the user's layers: what an edit of the Dockerfile can
//! recover. Bytes the base image ships and a later layer hides count only with `include_base`
//! (`--include-base`); then the efficiency is final filesystem bytes / content bytes.
//!
//! A `.dive-ci` file is read for the same three rules; a value of `disabled` turns a rule off.
//! Limits given on the command line win over the file.

use std::path::Path;

use super::render::human;
use super::Report;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gates {
    pub max_wasted_bytes: Option<u64>,
    pub max_wasted_ratio: Option<f64>,
    pub min_efficiency: Option<f64>,
    /// Judge all reclaimable bytes, the base image's too, not only the user's layers'.
    pub include_base: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{file}: line {line}: {message}")]
#[diagnostic(code(imgopt::analyze::dive_ci))]
pub struct CiConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl Gates {
    /// Fill the limits not given on the command line from a `.dive-ci` file.
    pub fn with_dive_ci(mut self, path: &Path) -> Result<Self, CiConfigError> {
        let err = |line: usize, message: String| CiConfigError { file: path.display().to_string(), line, message };
        // A `.dive-ci` is a few lines; it comes from the pull request, so it is read with care.
        let text = crate::fsio::read_regular_string(path, 1 << 20).map_err(|e| err(0, e.to_string()))?;
        let from_file = parse_dive_ci(&text).map_err(|(line, message)| err(line, message))?;
        self.max_wasted_bytes = self.max_wasted_bytes.or(from_file.max_wasted_bytes);
        self.max_wasted_ratio = self.max_wasted_ratio.or(from_file.max_wasted_ratio);
        self.min_efficiency = self.min_efficiency.or(from_file.min_efficiency);
        Ok(self)
    }

    /// One message per failed gate, saying by how much it failed.
    pub fn check(&self, report: &Report) -> Vec<String> {
        let t = &report.totals;
        let (reclaimable, whose) = if self.include_base {
            (t.reclaimable_bytes, "reclaimable")
        } else {
            (t.reclaimable_user_bytes, "reclaimable in your layers")
        };
        let ratio = if t.content_bytes == 0 { 0.0 } else { reclaimable as f64 / t.content_bytes as f64 };
        let efficiency = 1.0 - ratio;
        let mut failures = Vec::new();
        if let Some(limit) = self.max_wasted_bytes {
            if reclaimable > limit {
                failures.push(format!(
                    "max-wasted-bytes: {} {whose} ({} B) is {} B over the limit of {} B",
                    human(reclaimable),
                    reclaimable,
                    reclaimable - limit,
                    limit
                ));
            }
        }
        if let Some(limit) = self.max_wasted_ratio {
            if ratio > limit {
                failures.push(format!(
                    "max-wasted-ratio: {:.4} of the content is {whose}, {:.4} over the limit of {limit}",
                    ratio,
                    ratio - limit
                ));
            }
        }
        if let Some(limit) = self.min_efficiency {
            if efficiency < limit {
                let of = if self.include_base { "" } else { " (counting your layers' waste)" };
                failures.push(format!(
                    "min-efficiency: efficiency{of} {:.4} is {:.4} under the limit of {limit}",
                    efficiency,
                    limit - efficiency
                ));
            }
        }
        failures
    }
}

/// How much an image may grow: bytes (`5MB`) or a percentage of its size before (`10%`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Growth {
    Bytes(u64),
    Percent(f64),
}

/// `10%`, `2.5 %`, or a byte size as [`parse_bytes`] reads it.
pub fn parse_growth(text: &str) -> Result<Growth, String> {
    match text.trim().strip_suffix('%') {
        Some(number) => number
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|p| p.is_finite() && *p >= 0.0)
            .map(Growth::Percent)
            .ok_or_else(|| format!("`{text}` is not a percentage")),
        None => parse_bytes(text).map(Growth::Bytes),
    }
}

/// The gates of a size review, on the images' content bytes (the `Total content` figure).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SizeGates {
    /// Fail when the image grows by more than this.
    pub max_growth: Option<Growth>,
    /// Fail when the image (after) is larger than this.
    pub max_size: Option<u64>,
}

impl SizeGates {
    /// One message per failed gate, saying by how much it failed.
    pub fn check(&self, comparison: &super::compare::Comparison) -> Vec<String> {
        let size = comparison.totals.content_bytes;
        let mut failures = Vec::new();
        let grew = u64::try_from(size.difference).unwrap_or(0);
        match self.max_growth {
            Some(Growth::Bytes(limit)) if grew > limit => failures.push(format!(
                "max-growth: the image grew by {} ({grew} B, {} → {}), {} B over the limit of {limit} B",
                human(grew),
                human(size.before),
                human(size.after),
                grew - limit
            )),
            Some(Growth::Percent(limit)) => {
                // From nothing, any growth is over a percentage.
                let percent = size.percent().unwrap_or(if grew > 0 { f64::INFINITY } else { 0.0 });
                if percent > limit {
                    failures.push(format!(
                        "max-growth: the image grew by {:.2}% ({}, {} → {}), over the limit of {limit}%",
                        percent,
                        human(grew),
                        human(size.before),
                        human(size.after)
                    ));
                }
            }
            _ => {}
        }
        if let Some(limit) = self.max_size {
            if size.after > limit {
                failures.push(format!(
                    "max-size: the image is {} ({} B), {} B over the limit of {limit} B",
                    human(size.after),
                    size.after,
                    size.after - limit
                ));
            }
        }
        failures
    }
}

/// dive's `.dive-ci` is a small YAML file; only its `rules:` map of scalars matters, so it is read
/// line by line rather than with a YAML library.
pub fn parse_dive_ci(text: &str) -> Result<Gates, (usize, String)> {
    let mut gates = Gates::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line == "rules:" {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err((n + 1, format!("expected `key: value`, found `{line}`")));
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        if value.eq_ignore_ascii_case("disabled") {
            continue;
        }
        let fraction = || value.parse::<f64>().map_err(|_| (n + 1, format!("`{value}` is not a number for {key}")));
        match key.trim() {
            "lowestEfficiency" => gates.min_efficiency = Some(fraction()?),
            "highestUserWastedPercent" => gates.max_wasted_ratio = Some(fraction()?),
            "highestWastedBytes" => gates.max_wasted_bytes = Some(parse_bytes(value).map_err(|m| (n + 1, m))?),
            other => return Err((n + 1, format!("unknown rule `{other}`"))),
        }
    }
    Ok(gates)
}

/// `20MB`, `1.5 GiB`, `300000`: SI units are powers of 1000, IEC units powers of 1024, as in
/// dive's (go-humanize's) reading.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a byte size"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0f64.powi(4),
        other => return Err(format!("unknown byte unit `{other}` in `{text}`")),
    };
    Ok((number * factor).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dive_ci() {
        let gates = parse_dive_ci("rules:\n  lowestEfficiency: 0.95 # keep it tight\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n").unwrap();
        assert_eq!(
            gates,
            Gates {
                max_wasted_bytes: Some(20_000_000),
                max_wasted_ratio: None,
                min_efficiency: Some(0.95),
                include_base: false
            }
        );
        assert!(parse_dive_ci("rules:\n  bogus: 1\n").is_err());
    }

    #[test]
    fn growth_limits() {
        assert_eq!(parse_growth("10%"), Ok(Growth::Percent(10.0)));
        assert_eq!(parse_growth("5MB"), Ok(Growth::Bytes(5_000_000)));
        assert!(parse_growth("x%").is_err() && parse_growth("-1%").is_err());
    }

    #[test]
    fn byte_units() {
        assert_eq!(parse_bytes("1.5 KiB"), Ok(1536));
        assert_eq!(parse_bytes("300"), Ok(300));
        assert!(parse_bytes("3 parsecs").is_err());
    }
}
