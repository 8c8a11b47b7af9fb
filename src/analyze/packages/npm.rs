//! npm: every `node_modules/NAME/package.json` (or `node_modules/@SCOPE/NAME/package.json`) is a
//! package whose files are its directory, less the `node_modules` nested in it. A package in the
//! project's own `package.json` (beside the top `node_modules`) was asked for; one nested in
//! another package's `node_modules`, or missing from the project's list, is a dependency.

use std::collections::{BTreeMap, HashSet};

use super::{Database, DbFile, Found, Group, Manager, Reason, Sources};

const NODE_MODULES: &str = "node_modules";

/// `X/node_modules/NAME` or `X/node_modules/@SCOPE/NAME` for a package's `package.json`: (X, the
/// package directory).
fn package_dir(path: &str) -> Option<(&str, &str)> {
    let dir = path.strip_suffix("/package.json")?;
    let (parent, name) = dir.rsplit_once('/')?;
    if name.starts_with('.') || name.starts_with('@') {
        return None;
    }
    let parent = match parent.rsplit_once('/') {
        Some((above, scope)) if scope.starts_with('@') => above,
        _ => parent,
    };
    let project = match parent.rsplit_once('/') {
        Some((project, NODE_MODULES)) => project,
        None if parent == NODE_MODULES => "",
        _ => return None,
    };
    Some((project, dir))
}

pub(super) fn wanted(path: &str) -> bool {
    if package_dir(path).is_some() {
        return true;
    }
    // A project's own package.json: outside any node_modules.
    (path == "package.json" || path.ends_with("/package.json")) && !path.split('/').any(|p| p == NODE_MODULES)
}

/// The names a project's package.json depends on.
fn project_deps(file: Option<&DbFile<'_>>) -> Option<HashSet<String>> {
    let data = file?.content?;
    let json: serde_json::Value = serde_json::from_slice(data).ok()?;
    let mut names = HashSet::new();
    for field in ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] {
        if let Some(map) = json.get(field).and_then(|v| v.as_object()) {
            names.extend(map.keys().cloned());
        }
    }
    Some(names)
}

pub(super) fn read(image: &Sources<'_>, found: &mut Vec<Found>, databases: &mut Vec<Database>) {
    let manifests = image.final_files_where(|p| package_dir(p).is_some());
    let mut trees: BTreeMap<&str, (Group, Option<HashSet<String>>)> = BTreeMap::new();
    for (path, file) in manifests {
        let Some((project, dir)) = package_dir(path) else { continue };
        let (group, project_deps) = trees.entry(project).or_insert_with(|| {
            let own = if project.is_empty() { "package.json".to_string() } else { format!("{project}/package.json") };
            (Group::default(), project_deps(image.final_file(&own)))
        });
        let Some(data) = file.content else {
            group.notes.add(file.refusal(path));
            continue;
        };
        let json: serde_json::Value = match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(e) => {
                group.notes.add(format!("/{path} is not valid JSON ({e}): skipped"));
                continue;
            }
        };
        let dir_name = dir.strip_prefix(project).unwrap_or(dir).trim_start_matches('/');
        let dir_name = dir_name.strip_prefix("node_modules/").unwrap_or(dir_name);
        let name = json.get("name").and_then(|v| v.as_str()).unwrap_or(dir_name).to_string();
        let version = json.get("version").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let nested = project.split('/').any(|p| p == NODE_MODULES);
        let reason = if nested {
            Some(Reason::Dependency)
        } else {
            project_deps.as_ref().map(|deps| if deps.contains(dir_name) { Reason::Manual } else { Reason::Dependency })
        };
        let inner = format!("{dir}/{NODE_MODULES}/");
        let paths: Vec<String> =
            image.tree.under(dir).filter(|(p, _)| !p.starts_with(&inner)).map(|(p, _)| p.to_string()).collect();
        if !group.admit(file.layer, path) {
            continue;
        }
        found.push(Found {
            manager: Manager::Npm,
            name,
            version,
            arch: None,
            layer: file.layer,
            paths,
            declared_bytes: None,
            reason,
            via: Vec::new(),
            source: dir.to_string(),
        });
    }
    for (project, (group, _)) in trees {
        let path = if project.is_empty() { NODE_MODULES.to_string() } else { format!("{project}/{NODE_MODULES}") };
        databases.push(group.into_database(Manager::Npm, path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_package_directories() {
        assert_eq!(package_dir("app/node_modules/left-pad/package.json"), Some(("app", "app/node_modules/left-pad")));
        assert_eq!(package_dir("node_modules/@babel/core/package.json"), Some(("", "node_modules/@babel/core")));
        assert_eq!(
            package_dir("app/node_modules/a/node_modules/b/package.json"),
            Some(("app/node_modules/a", "app/node_modules/a/node_modules/b"))
        );
        assert_eq!(package_dir("app/node_modules/a/lib/package.json"), None);
        assert_eq!(package_dir("app/node_modules/.bin/package.json"), None);
        assert!(wanted("app/package.json"));
        assert!(!wanted("app/node_modules/a/lib/package.json"));
    }
}
