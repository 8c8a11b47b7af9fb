//! Python: each `NAME-VERSION.dist-info/RECORD` lists the distribution's files (CSV: path, hash,
//! size), relative to the directory holding the dist-info (`../../../bin/x` for scripts); the
//! `Name:` and `Version:` of `METADATA` beside it name it as its project does. pip writes
//! `REQUESTED` beside it for what was asked for by name.

use std::collections::BTreeMap;

use super::paths::normalize;
use super::{Database, Found, Group, Manager, Reason, Sources};

const RECORD: &str = ".dist-info/RECORD";
const METADATA: &str = ".dist-info/METADATA";

pub(super) fn wanted(path: &str) -> bool {
    path.ends_with(RECORD) || path.ends_with(METADATA)
}

/// `Name:` and `Version:` from the headers of a METADATA file (they end at the first blank line).
fn name_and_version(metadata: &[u8]) -> (Option<&str>, Option<&str>) {
    let (mut name, mut version) = (None, None);
    for line in metadata.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let Ok(line) = std::str::from_utf8(line) else { continue };
        if let Some(v) = line.strip_prefix("Name:") {
            name = name.or(Some(v.trim()));
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = version.or(Some(v.trim()));
        }
    }
    (name, version)
}

/// The first CSV field of a RECORD line: the path (quoted when it holds a comma or a quote).
fn first_field(line: &[u8]) -> Vec<u8> {
    let Some(rest) = line.strip_prefix(b"\"") else {
        return line.split(|&b| b == b',').next().unwrap_or(line).to_vec();
    };
    let mut out = Vec::new();
    let mut bytes = rest.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b == b'"' {
            if bytes.peek() == Some(&b'"') {
                bytes.next();
            } else {
                break;
            }
        }
        out.push(b);
    }
    out
}

pub(super) fn read(image: &Sources<'_>, found: &mut Vec<Found>, databases: &mut Vec<Database>) {
    let records = image.final_files_where(|p| p.ends_with(RECORD));
    // One database per directory of dist-infos (a site-packages).
    let mut sites: BTreeMap<&str, Group> = BTreeMap::new();
    for (path, file) in records {
        let dist_info = &path[..path.len() - "/RECORD".len()];
        let (site, dir_name) = dist_info.rsplit_once('/').unwrap_or(("", dist_info));
        let group = sites.entry(site).or_default();
        let Some(data) = file.content else {
            group.notes.add(file.refusal(path));
            continue;
        };
        if !group.admit(file.layer, path) {
            continue;
        }
        let stem = dir_name.trim_end_matches(".dist-info");
        let (dir_project, dir_version) = stem.split_once('-').unwrap_or((stem, ""));
        let metadata = image.final_file(&format!("{dist_info}/METADATA")).and_then(|f| f.content);
        let (name, version) = metadata.map(name_and_version).unwrap_or_default();
        let (name, version) = (name.unwrap_or(dir_project), version.unwrap_or(dir_version));
        let mut paths = Vec::new();
        let mut outside = 0usize;
        for line in data.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            if !group.take_path(path) {
                break;
            }
            match normalize(site, &first_field(line)) {
                Some(p) if !p.is_empty() => paths.push(p),
                Some(_) => {}
                None => outside += 1,
            }
        }
        if outside > 0 {
            group.notes.add(format!("/{path}: {outside} paths climb out of the image root: ignored"));
        }
        let requested = image.tree.exists(&format!("{dist_info}/REQUESTED"));
        found.push(Found {
            manager: Manager::Python,
            name: name.to_string(),
            version: version.to_string(),
            arch: None,
            layer: file.layer,
            paths,
            declared_bytes: None,
            reason: Some(if requested { Reason::Manual } else { Reason::Dependency }),
            via: Vec::new(),
            source: dist_info.to_string(),
        });
    }
    for (site, group) in sites {
        databases.push(group.into_database(Manager::Python, site.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_metadata_headers() {
        let m = b"Metadata-Version: 2.1\r\nName: python-dateutil\nVersion: 2.9.0\n\nName: not-a-header\n";
        assert_eq!(name_and_version(m), (Some("python-dateutil"), Some("2.9.0")));
    }

    #[test]
    fn reads_quoted_paths() {
        assert_eq!(first_field(b"six.py,sha256=abc,1234"), b"six.py");
        assert_eq!(first_field(b"\"a,\"\"b\"\".py\",sha256=x,1"), b"a,\"b\".py");
        assert_eq!(first_field(b"x.dist-info/RECORD,,"), b"x.dist-info/RECORD");
    }
}
