//! dpkg: `var/lib/dpkg/status` and `info/PACKAGE[:ARCH].list`, or distroless'
//! `var/lib/dpkg/status.d/NAME` (a control stanza) with `NAME.md5sums` (its files); apt's
//! `var/lib/apt/extended_states` says which packages were installed automatically.

use std::collections::{HashMap, HashSet};

use super::deps::Graph;
use super::paths::normalize;
use super::{Database, DbFile, Found, Manager, Notes, Sources, MAX_FIELDS, MAX_PACKAGES, MAX_PATHS};

const STATUS: &str = "var/lib/dpkg/status";
const INFO: &str = "var/lib/dpkg/info/";
const STATUS_D: &str = "var/lib/dpkg/status.d/";
const EXTENDED_STATES: &str = "var/lib/apt/extended_states";

pub(super) fn wanted(path: &str) -> bool {
    path == STATUS
        || path == EXTENDED_STATES
        || path.strip_prefix(INFO).is_some_and(|name| name.ends_with(".list") && !name.contains('/'))
        || path.strip_prefix(STATUS_D).is_some_and(|name| !name.contains('/'))
}

/// One stanza of a deb822 file (`Field: value`, continuation lines start with a blank).
pub(super) struct Stanza<'a> {
    fields: Vec<(&'a [u8], &'a [u8])>,
    /// Byte offset in the file, for notes.
    pub at: usize,
}

impl<'a> Stanza<'a> {
    /// A field's value with its continuation lines (field names compare case-insensitively).
    pub fn raw(&self, name: &str) -> Option<&'a [u8]> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|&(_, v)| v)
    }

    /// A one-word field, trimmed; Err when it is not UTF-8.
    pub fn text(&self, name: &str) -> Result<Option<&'a str>, String> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => {
                std::str::from_utf8(v.trim_ascii()).map(Some).map_err(|_| format!("its {name} field is not UTF-8"))
            }
        }
    }
}

/// The stanzas of a deb822 file, separated by blank lines; Err past [`MAX_PACKAGES`] stanzas or
/// [`MAX_FIELDS`] fields.
pub(super) fn stanzas(data: &[u8]) -> Result<Vec<Stanza<'_>>, String> {
    let mut out = Vec::new();
    let mut fields = 0usize;
    let mut current = Stanza { fields: Vec::new(), at: 0 };
    let mut offset = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        let start = offset;
        offset += line.len();
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.trim_ascii().is_empty() {
            if !current.fields.is_empty() {
                if out.len() == MAX_PACKAGES {
                    return Err(format!("more than {MAX_PACKAGES} stanzas"));
                }
                out.push(std::mem::replace(&mut current, Stanza { fields: Vec::new(), at: offset }));
            } else {
                current.at = offset;
            }
            continue;
        }
        if body[0] == b' ' || body[0] == b'\t' {
            // A continuation: extend the last field's value to the end of this line.
            if let Some((_, value)) = current.fields.last_mut() {
                let value_start = value.as_ptr() as usize - data.as_ptr() as usize;
                *value = &data[value_start..start + body.len()];
            }
            continue;
        }
        if let Some(colon) = body.iter().position(|&b| b == b':') {
            fields += 1;
            if fields > MAX_FIELDS {
                return Err(format!("more than {MAX_FIELDS} fields"));
            }
            current.fields.push((&body[..colon], &body[colon + 1..]));
        }
    }
    if !current.fields.is_empty() {
        if out.len() == MAX_PACKAGES {
            return Err(format!("more than {MAX_PACKAGES} stanzas"));
        }
        out.push(current);
    }
    Ok(out)
}

/// An installed package as `status` (or a `status.d` file) describes it.
struct Control<'a> {
    name: &'a str,
    arch: Option<&'a str>,
    version: &'a str,
    installed_kib: Option<u64>,
    hard: Vec<&'a [u8]>,
    soft: Vec<&'a [u8]>,
    provides: Option<&'a [u8]>,
}

/// The package a stanza installs; None when it is not installed (removed, config files only).
fn control<'a>(stanza: &Stanza<'a>, need_status: bool) -> Result<Option<Control<'a>>, String> {
    let name = stanza.text("Package")?.filter(|n| !n.is_empty()).ok_or("it has no Package field")?;
    let not_utf8 = |e: String| format!("package `{name}`: {e}");
    if need_status {
        let status = stanza.text("Status").map_err(not_utf8)?.unwrap_or("");
        // `want flag state`: only the states where the files are on disk.
        let state = status.split_whitespace().nth(2).unwrap_or("");
        if !matches!(state, "installed" | "half-configured" | "unpacked" | "triggers-awaited" | "triggers-pending") {
            return Ok(None);
        }
    }
    let version = stanza.text("Version").map_err(not_utf8)?.unwrap_or("");
    let arch = stanza.text("Architecture").map_err(not_utf8)?;
    let installed_kib = stanza.text("Installed-Size").ok().flatten().and_then(|s| s.parse().ok());
    let field = |f: &str| stanza.raw(f);
    Ok(Some(Control {
        name,
        arch,
        version,
        installed_kib,
        hard: ["Pre-Depends", "Depends"].into_iter().filter_map(field).collect(),
        soft: field("Recommends").into_iter().collect(),
        provides: field("Provides"),
    }))
}

/// Names in a relationship field: `a (>= 1) | b:any, c` → alternatives per comma.
fn relations(field: &[u8]) -> impl Iterator<Item = Vec<&str>> + '_ {
    field.split(|&b| b == b',').map(|group| {
        group
            .split(|&b| b == b'|')
            .filter_map(|alt| {
                let alt = std::str::from_utf8(alt).ok()?.trim();
                let name = alt.split(|c: char| c.is_whitespace() || c == '(' || c == '[').next()?;
                let name = name.split(':').next()?;
                (!name.is_empty()).then_some(name)
            })
            .collect()
    })
}

pub(super) fn read(image: &Sources<'_>, found: &mut Vec<Found>, databases: &mut Vec<Database>) {
    if let Some(file) = image.final_file(STATUS) {
        read_status(image, file, found, databases);
    }
    let auto = image.final_file(EXTENDED_STATES).and_then(|f| f.content).map(auto_installed).unwrap_or_default();
    read_status_d(image, &auto, found, databases);
}

/// Packages apt marked as installed automatically (by name), from one copy of extended_states.
fn auto_installed(data: &[u8]) -> HashSet<String> {
    stanzas(data)
        .unwrap_or_default()
        .iter()
        .filter(|s| s.text("Auto-Installed").ok().flatten() == Some("1"))
        .filter_map(|s| s.text("Package").ok().flatten().map(str::to_string))
        .collect()
}

/// apt's automatic marks as they were when `layer` was made: the last copy at or below it.
fn auto_as_of(image: &Sources<'_>, layer: usize) -> HashSet<String> {
    let copies = image.versions(EXTENDED_STATES);
    copies.iter().rev().find(|f| f.layer <= layer).and_then(|f| f.content).map(auto_installed).unwrap_or_default()
}

/// The installed packages one copy of `status` lists; stanzas that cannot be read go to `notes`.
fn installed_in<'a>(data: &'a [u8], notes: &mut Notes) -> Result<Vec<Control<'a>>, String> {
    let all = stanzas(data).map_err(|why| format!("/{STATUS} holds {why}: not read"))?;
    let mut installed = Vec::new();
    for stanza in &all {
        match control(stanza, true) {
            Ok(Some(c)) => installed.push(c),
            Ok(None) => {}
            Err(why) => notes.add(format!("the stanza at byte {} is skipped: {why}", stanza.at)),
        }
    }
    Ok(installed)
}

fn read_status(image: &Sources<'_>, file: &DbFile<'_>, found: &mut Vec<Found>, databases: &mut Vec<Database>) {
    let mut db = Database {
        manager: Manager::Dpkg,
        path: STATUS.into(),
        layer: file.layer,
        packages: 0,
        error: None,
        notes: Vec::new(),
    };
    let Some(data) = file.content else {
        db.error = Some(file.refusal(STATUS));
        databases.push(db);
        return;
    };
    let mut notes = Notes::default();
    let installed = match installed_in(data, &mut notes) {
        Ok(installed) => installed,
        Err(why) => {
            db.error = Some(why);
            databases.push(db);
            return;
        }
    };
    // Every earlier copy, oldest first: None where it could not be read.
    let versions = image.versions(STATUS);
    let mut copies: Vec<(usize, Option<Vec<Control<'_>>>)> = Vec::with_capacity(versions.len());
    for copy in &versions[..versions.len().saturating_sub(1)] {
        let parsed = match copy.content {
            Some(data) => installed_in(data, &mut Notes::default()).ok(),
            None => {
                notes.add(copy.refusal(STATUS));
                None
            }
        };
        copies.push((copy.layer, parsed));
    }
    let layers = install_layers(&installed, file.layer, &copies);
    let mut paths_left = MAX_PATHS;
    let reasons = reasons_when_installed(image, &installed, &layers, file.layer, &copies);
    for ((c, layer), (reason, via)) in installed.iter().zip(layers).zip(reasons) {
        let arch_list = c.arch.map(|a| format!("{INFO}{}:{a}.list", c.name));
        let plain_list = format!("{INFO}{}.list", c.name);
        let list = arch_list.iter().chain([&plain_list]).find_map(|p| image.final_file(p).map(|f| (p, f)));
        let mut paths = Vec::new();
        match list {
            Some((_, DbFile { content: Some(data), .. })) => {
                paths = list_paths(data, c.name, &mut paths_left, &mut notes)
            }
            Some((path, f)) => notes.add(f.refusal(path)),
            None => notes.add(format!("package `{}` has no file list in /{INFO}", c.name)),
        }
        found.push(Found {
            manager: Manager::Dpkg,
            name: c.name.to_string(),
            version: c.version.to_string(),
            arch: c.arch.map(str::to_string),
            layer,
            paths,
            declared_bytes: c.installed_kib.map(|k| k.saturating_mul(1024)),
            reason: Some(reason),
            via,
            source: list.map_or_else(|| STATUS.to_string(), |(p, _)| p.clone()),
        });
    }
    db.packages = installed.len();
    db.notes = notes.into_vec();
    databases.push(db);
}

/// The layer that installed each package: the first of the last unbroken run of `status` copies
/// that list it at its final version (a copy that could not be read breaks the run).
fn install_layers(installed: &[Control<'_>], last: usize, copies: &[(usize, Option<Vec<Control<'_>>>)]) -> Vec<usize> {
    let mut layers: Vec<usize> = vec![last; installed.len()];
    let mut still: Vec<bool> = vec![true; installed.len()];
    let wanted: HashMap<(&str, Option<&str>), usize> =
        installed.iter().enumerate().map(|(i, c)| ((c.name, c.arch), i)).collect();
    for (layer, copy) in copies.iter().rev() {
        let Some(copy) = copy else { break };
        let mut listed = vec![false; installed.len()];
        for c in copy {
            if let Some(&i) = wanted.get(&(c.name, c.arch)) {
                listed[i] = c.version == installed[i].version;
            }
        }
        for i in 0..installed.len() {
            still[i] &= listed[i];
            if still[i] {
                layers[i] = *layer;
            }
        }
        if !still.iter().any(|&s| s) {
            break;
        }
    }
    layers
}

/// Why each package was installed, judged on the packages and apt's marks of the layer that
/// installed it: what pulled it in then, not what happens to need it in the final image.
fn reasons_when_installed(
    image: &Sources<'_>,
    installed: &[Control<'_>],
    layers: &[usize],
    last: usize,
    copies: &[(usize, Option<Vec<Control<'_>>>)],
) -> Vec<(super::Reason, Vec<String>)> {
    let mut reasons = vec![(super::Reason::Manual, Vec::new()); installed.len()];
    let mut by_layer: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &layer) in layers.iter().enumerate() {
        by_layer.entry(layer).or_default().push(i);
    }
    for (layer, members) in by_layer {
        let then = copies.iter().find(|(l, _)| *l == layer).and_then(|(_, c)| c.as_deref());
        let packages = match then {
            Some(copy) if layer != last => copy,
            _ => installed,
        };
        let fresh: HashSet<&str> = members.iter().map(|&i| installed[i].name).collect();
        let classified = classify(packages, &auto_as_of(image, layer), &fresh);
        let at: HashMap<(&str, Option<&str>), usize> =
            packages.iter().enumerate().map(|(i, c)| ((c.name, c.arch), i)).collect();
        for i in members {
            if let Some(&j) = at.get(&(installed[i].name, installed[i].arch)) {
                reasons[i].clone_from(&classified[j]);
            }
        }
    }
    reasons
}

/// `fresh`: the packages the layer being explained installed; asked-for ones among them are
/// credited first.
fn classify(
    installed: &[Control<'_>],
    auto: &HashSet<String>,
    fresh: &HashSet<&str>,
) -> Vec<(super::Reason, Vec<String>)> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in installed.iter().enumerate() {
        by_name.entry(c.name).or_default().push(i);
    }
    let mut provided: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in installed.iter().enumerate() {
        for group in c.provides.into_iter().flat_map(relations) {
            for name in group {
                provided.entry(name).or_default().push(i);
            }
        }
    }
    let names = installed.iter().map(|c| c.name).collect();
    let manual = installed.iter().map(|c| !auto.contains(c.name)).collect();
    let mut graph = Graph::new(names, manual);
    graph.preferred = installed.iter().map(|c| fresh.contains(c.name)).collect();
    let targets =
        |name: &str| by_name.get(name).into_iter().chain(provided.get(name)).flatten().copied().collect::<Vec<usize>>();
    for (i, c) in installed.iter().enumerate() {
        for field in &c.hard {
            for alternatives in relations(field) {
                graph.hard[i].extend(alternatives.iter().flat_map(|n| targets(n)));
            }
        }
        for field in &c.soft {
            for alternatives in relations(field) {
                graph.soft[i].extend(alternatives.iter().flat_map(|n| targets(n)));
            }
        }
    }
    graph.classify()
}

/// The paths of a `.list` file, one per line; those climbing out of the root are counted.
/// `left` is what the database may still read ([`MAX_PATHS`] at first).
fn list_paths(data: &[u8], package: &str, left: &mut usize, notes: &mut Notes) -> Vec<String> {
    let mut out = Vec::new();
    let mut outside = 0usize;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if *left == 0 {
            notes.add(format!(
                "package `{package}`: more than {MAX_PATHS} paths in this database: the rest are not read"
            ));
            break;
        }
        *left -= 1;
        match normalize("", line) {
            Some(p) if p.is_empty() => {}
            Some(p) => out.push(p),
            None => outside += 1,
        }
    }
    if outside > 0 {
        notes.add(format!("package `{package}`: {outside} listed paths climb out of the image root: ignored"));
    }
    out
}

/// distroless: one control stanza per file in `status.d/`, its files in `NAME.md5sums`.
fn read_status_d(image: &Sources<'_>, auto: &HashSet<String>, found: &mut Vec<Found>, databases: &mut Vec<Database>) {
    let files = image.final_files_where(|p| p.starts_with(STATUS_D) && !p.ends_with(".md5sums"));
    if files.is_empty() {
        return;
    }
    let mut notes = Notes::default();
    let mut count = 0;
    let mut paths_left = MAX_PATHS;
    let layer = files.iter().map(|(_, f)| f.layer).max().unwrap_or(0);
    if files.len() > MAX_PACKAGES {
        databases.push(Database {
            manager: Manager::Dpkg,
            path: STATUS_D.trim_end_matches('/').into(),
            layer,
            packages: 0,
            error: Some(format!("/{STATUS_D} holds {} files; at most {MAX_PACKAGES} are read: not read", files.len())),
            notes: Vec::new(),
        });
        return;
    }
    for (path, file) in files {
        let Some(data) = file.content else {
            notes.add(file.refusal(path));
            continue;
        };
        let all = match stanzas(data) {
            Ok(all) => all,
            Err(why) => {
                notes.add(format!("/{path} holds {why}: not read"));
                continue;
            }
        };
        for stanza in all {
            let c = match control(&stanza, false) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(why) => {
                    notes.add(format!("/{path}: the stanza at byte {} is skipped: {why}", stanza.at));
                    continue;
                }
            };
            let md5sums = format!("{path}.md5sums");
            let paths = match image.final_file(&md5sums) {
                Some(DbFile { content: Some(sums), .. }) => {
                    // `MD5  path`, the path relative to the root.
                    let lines = sums.split(|&b| b == b'\n').filter_map(|l| {
                        let at = l.iter().position(|&b| b == b' ')?;
                        Some(l[at..].trim_ascii_start())
                    });
                    let joined: Vec<u8> = lines.collect::<Vec<_>>().join(&b'\n');
                    list_paths(&joined, c.name, &mut paths_left, &mut notes)
                }
                Some(f) => {
                    notes.add(f.refusal(&md5sums));
                    Vec::new()
                }
                None => Vec::new(),
            };
            count += 1;
            found.push(Found {
                manager: Manager::Dpkg,
                name: c.name.to_string(),
                version: c.version.to_string(),
                arch: c.arch.map(str::to_string),
                layer: file.layer,
                paths,
                declared_bytes: c.installed_kib.map(|k| k.saturating_mul(1024)),
                // distroless installs no apt: what it asked for is not recorded.
                reason: auto.contains(c.name).then_some(super::Reason::Dependency),
                via: Vec::new(),
                source: path.to_string(),
            });
        }
    }
    databases.push(Database {
        manager: Manager::Dpkg,
        path: STATUS_D.trim_end_matches('/').into(),
        layer,
        packages: count,
        error: None,
        notes: notes.into_vec(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stanzas_with_continuations() {
        let data =
            b"Package: a\nDepends: b,\n c (>= 1) | d\nStatus: install ok installed\n\n\nPackage: e\r\nVersion: 1\r\n";
        let s = stanzas(data).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].text("package").unwrap(), Some("a"));
        let deps: Vec<Vec<&str>> = relations(s[0].raw("Depends").unwrap()).collect();
        assert_eq!(deps, vec![vec!["b"], vec!["c", "d"]]);
        assert_eq!(s[1].text("Version").unwrap(), Some("1"));
        assert_eq!(s[1].at, 68);
    }

    #[test]
    fn too_many_fields_or_stanzas_are_refused() {
        let fields = b"a: 1\n".repeat(MAX_FIELDS + 1);
        assert_eq!(stanzas(&fields).err().as_deref(), Some("more than 2000000 fields"));
        let many = b"Package: a\n\n".repeat(MAX_PACKAGES + 1);
        assert_eq!(stanzas(&many).err().as_deref(), Some("more than 200000 stanzas"));
        assert_eq!(stanzas(&many[..many.len() - 12]).map(|s| s.len()), Ok(MAX_PACKAGES));
    }

    #[test]
    fn relations_drop_arch_qualifiers_and_versions() {
        let r: Vec<Vec<&str>> = relations(b"python3:any (>= 3.11~), libc6 [amd64] | libc6.1").collect();
        assert_eq!(r, vec![vec!["python3"], vec!["libc6", "libc6.1"]]);
    }
}
