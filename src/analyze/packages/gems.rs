//! Ruby gems: `GEM_DIR/specifications/NAME-VERSION.gemspec` names an installed gem; its files are
//! `GEM_DIR/gems/NAME-VERSION/`, `GEM_DIR/extensions/*/*/NAME-VERSION/`, `GEM_DIR/doc/NAME-VERSION/`
//! and `GEM_DIR/cache/NAME-VERSION.gem`. Only names are read: whether a gem was asked for is not
//! recorded. Default gems (`specifications/default/`) ship with Ruby and are not listed.

use std::collections::BTreeMap;

use super::{Database, Found, Group, Manager, Sources};

const SPECIFICATIONS: &str = "/specifications/";

/// `GEM_DIR/specifications/NAME-VERSION.gemspec` → (GEM_DIR, NAME-VERSION).
fn gemspec(path: &str) -> Option<(&str, &str)> {
    let at = path.rfind(SPECIFICATIONS)?;
    let stem = path[at + SPECIFICATIONS.len()..].strip_suffix(".gemspec")?;
    (!stem.contains('/')).then_some((&path[..at], stem))
}

/// `nokogiri-1.15.4-x86_64-linux` → (`nokogiri`, `1.15.4-x86_64-linux`): the version starts at the
/// first `-` followed by a digit.
fn split_name(stem: &str) -> (&str, &str) {
    let bytes = stem.as_bytes();
    (1..bytes.len())
        .find(|&i| bytes[i - 1] == b'-' && bytes[i].is_ascii_digit())
        .map_or((stem, ""), |i| (&stem[..i - 1], &stem[i..]))
}

pub(super) fn wanted(path: &str) -> bool {
    gemspec(path).is_some()
}

pub(super) fn read(image: &Sources<'_>, found: &mut Vec<Found>, databases: &mut Vec<Database>) {
    let mut dirs: BTreeMap<&str, Group> = BTreeMap::new();
    for (path, file) in image.final_files_where(wanted) {
        let Some((gem_dir, stem)) = gemspec(path) else { continue };
        if !dirs.entry(gem_dir).or_default().admit(file.layer, path) {
            continue;
        }
        let (name, version) = split_name(stem);
        let mut paths: Vec<String> = vec![path.to_string(), format!("{gem_dir}/cache/{stem}.gem")];
        for sub in ["gems", "doc"] {
            paths.extend(image.tree.under(&format!("{gem_dir}/{sub}/{stem}")).map(|(p, _)| p.to_string()));
        }
        paths.extend(
            image
                .tree
                .under(&format!("{gem_dir}/extensions"))
                .filter(|(p, _)| p.split('/').any(|part| part == stem))
                .map(|(p, _)| p.to_string()),
        );
        found.push(Found {
            manager: Manager::Gem,
            name: name.to_string(),
            version: version.to_string(),
            arch: None,
            layer: file.layer,
            paths,
            declared_bytes: None,
            reason: None,
            via: Vec::new(),
            source: path.to_string(),
        });
    }
    for (dir, group) in dirs {
        databases.push(group.into_database(Manager::Gem, dir.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names_and_versions() {
        assert_eq!(split_name("net-http-0.4.1"), ("net-http", "0.4.1"));
        assert_eq!(split_name("nokogiri-1.15.4-x86_64-linux"), ("nokogiri", "1.15.4-x86_64-linux"));
        assert_eq!(
            gemspec("usr/local/bundle/specifications/rack-3.0.8.gemspec"),
            Some(("usr/local/bundle", "rack-3.0.8"))
        );
        assert_eq!(gemspec("usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec"), None);
    }
}
