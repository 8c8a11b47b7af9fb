//! apk: `lib/apk/db/installed` (`P:` name, `V:` version, `A:` arch, `I:` installed size, `D:`
//! dependencies, `p:` provides, `F:` a directory and the `R:` files in it), and `etc/apk/world`,
//! the packages asked for.

use std::collections::{HashMap, HashSet};

use super::deps::Graph;
use super::paths::normalize;
use super::{Database, Found, Manager, Notes, Reason, Sources, MAX_PACKAGES, MAX_PATHS};

const INSTALLED: &str = "lib/apk/db/installed";
const WORLD: &str = "etc/apk/world";

pub(super) fn wanted(path: &str) -> bool {
    path == INSTALLED || path == WORLD
}

#[derive(Default)]
struct Entry<'a> {
    name: &'a str,
    version: &'a str,
    arch: Option<&'a str>,
    installed: Option<u64>,
    depends: Vec<&'a str>,
    provides: Vec<&'a str>,
    paths: Vec<String>,
    at: usize,
}

/// A dependency or provide: `so:libc.musl-x86_64.so.1=1`, `busybox>=1.36` → its name.
fn dep_name(word: &str) -> &str {
    word.split(['=', '<', '>', '~']).next().unwrap_or(word)
}

fn parse<'a>(data: &'a [u8], notes: &mut Notes) -> Result<Vec<Entry<'a>>, String> {
    let mut entries = Vec::new();
    let mut current = Entry::default();
    let mut dir = String::new();
    let mut outside = 0usize;
    let mut bad = 0usize;
    let mut paths = 0usize;
    let mut offset = 0;
    let finish = |entry: Entry<'a>, entries: &mut Vec<Entry<'a>>, bad: &mut usize| {
        if entry.name.is_empty() {
            if !entry.paths.is_empty() {
                *bad += 1;
            }
        } else {
            entries.push(entry);
        }
    };
    for line in data.split(|&b| b == b'\n') {
        let at = offset;
        offset += line.len() + 1;
        if line.is_empty() {
            finish(std::mem::take(&mut current), &mut entries, &mut bad);
            current.at = offset;
            dir.clear();
            if entries.len() > MAX_PACKAGES {
                return Err(format!("/{INSTALLED} lists more than {MAX_PACKAGES} packages: not read"));
            }
            continue;
        }
        let (key, value) = match line {
            [k, b':', rest @ ..] => (*k, rest),
            _ => continue,
        };
        if key == b'R' {
            paths += 1;
        }
        // Paths are bytes; every other value must be text.
        match key {
            b'F' => match normalize("", value) {
                Some(d) => dir = d,
                None => {
                    outside += 1;
                    dir = String::from("\0");
                }
            },
            b'R' if paths > MAX_PATHS => {
                return Err(format!("/{INSTALLED} lists more than {MAX_PATHS} files: not read"));
            }
            b'R' if dir != "\0" => match normalize(&dir, value) {
                Some(p) if !value.contains(&b'/') => current.paths.push(p),
                _ => outside += 1,
            },
            b'R' => {}
            _ => {
                let Ok(text) = std::str::from_utf8(value) else {
                    notes.add(format!("the `{}:` line at byte {at} is not UTF-8: ignored", key as char));
                    continue;
                };
                match key {
                    b'P' => current.name = text,
                    b'V' => current.version = text,
                    b'A' => current.arch = Some(text),
                    b'I' => current.installed = text.parse().ok(),
                    b'D' => current.depends.extend(text.split_whitespace().filter(|d| !d.starts_with('!'))),
                    b'p' => current.provides.extend(text.split_whitespace()),
                    _ => {}
                }
            }
        }
    }
    finish(current, &mut entries, &mut bad);
    if entries.len() > MAX_PACKAGES {
        return Err(format!("/{INSTALLED} lists more than {MAX_PACKAGES} packages: not read"));
    }
    if outside > 0 {
        notes.add(format!("{outside} paths climb out of the image root or name a subdirectory as a file: ignored"));
    }
    if bad > 0 {
        notes.add(format!("{bad} entries list files but no `P:` name: ignored"));
    }
    Ok(entries)
}

pub(super) fn read(image: &Sources<'_>, found: &mut Vec<Found>, databases: &mut Vec<Database>) {
    let Some(file) = image.final_file(INSTALLED) else { return };
    let mut db = Database {
        manager: Manager::Apk,
        path: INSTALLED.into(),
        layer: file.layer,
        packages: 0,
        error: None,
        notes: Vec::new(),
    };
    let Some(data) = file.content else {
        db.error = Some(file.refusal(INSTALLED));
        databases.push(db);
        return;
    };
    let mut notes = Notes::default();
    let entries = match parse(data, &mut notes) {
        Ok(e) => e,
        Err(why) => {
            db.error = Some(why);
            databases.push(db);
            return;
        }
    };
    // The layer that installed each: as for dpkg's status, the first copy of the last unbroken
    // run listing it at its final version.
    let versions = image.versions(INSTALLED);
    let mut layers = vec![file.layer; entries.len()];
    let mut still = vec![true; entries.len()];
    for older in versions.iter().rev().skip(1) {
        let Some(data) = older.content else {
            notes.add(older.refusal(INSTALLED));
            break;
        };
        let listed: HashSet<(&str, &str)> =
            parse(data, &mut Notes::default()).unwrap_or_default().iter().map(|e| (e.name, e.version)).collect();
        for (i, e) in entries.iter().enumerate() {
            still[i] &= listed.contains(&(e.name, e.version));
            if still[i] {
                layers[i] = older.layer;
            }
        }
    }
    let world: Option<HashSet<&str>> = image.final_file(WORLD).and_then(|f| f.content).map(|w| {
        w.split(|b| b.is_ascii_whitespace())
            .filter_map(|word| std::str::from_utf8(word).ok())
            .filter(|w| !w.is_empty() && !w.starts_with('!'))
            .map(|w| dep_name(w).split('@').next().unwrap_or(w))
            .collect()
    });
    let reasons = world.as_ref().map(|world| {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_name.entry(e.name).or_default().push(i);
            for p in &e.provides {
                by_name.entry(dep_name(p)).or_default().push(i);
            }
        }
        let mut graph = Graph::new(
            entries.iter().map(|e| e.name).collect(),
            entries.iter().map(|e| world.contains(e.name)).collect(),
        );
        for (i, e) in entries.iter().enumerate() {
            for d in &e.depends {
                graph.hard[i].extend(by_name.get(dep_name(d)).into_iter().flatten());
            }
        }
        graph.classify()
    });
    db.packages = entries.len();
    for (i, e) in entries.into_iter().enumerate() {
        let (reason, via) = match &reasons {
            Some(r) => (Some(r[i].0), r[i].1.clone()),
            None => (None, Vec::new()),
        };
        found.push(Found {
            manager: Manager::Apk,
            name: e.name.to_string(),
            version: e.version.to_string(),
            arch: e.arch.map(str::to_string),
            layer: layers[i],
            paths: e.paths,
            declared_bytes: e.installed,
            reason: reason.map(|r| if r == Reason::Auto { Reason::Dependency } else { r }),
            via,
            source: INSTALLED.into(),
        });
    }
    db.notes = notes.into_vec();
    databases.push(db);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_refuses_escapes() {
        let db = b"P:busybox\nV:1.36\nA:x86_64\nI:900\nD:so:libc.musl-x86_64.so.1 !conflict\nF:bin\nR:busybox\nF:../../etc\nR:shadow\n\nP:musl\nV:1.2\np:so:libc.musl-x86_64.so.1=1\nF:lib\nR:ld-musl.so.1\nR:../x\n";
        let mut notes = Notes::default();
        let e = parse(db, &mut notes).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].paths, ["bin/busybox"]);
        assert_eq!(e[0].depends, ["so:libc.musl-x86_64.so.1"]);
        assert_eq!(e[0].installed, Some(900));
        assert_eq!(e[1].paths, ["lib/ld-musl.so.1"]);
        assert_eq!(notes.into_vec().len(), 1);
    }

    #[test]
    fn too_many_files_are_refused() {
        let mut db = b"P:big\nF:usr\n".to_vec();
        db.extend(b"R:x\n".repeat(MAX_PATHS));
        assert_eq!(parse(&db, &mut Notes::default()).map(|e| e[0].paths.len()), Ok(MAX_PATHS));
        db.extend(b"R:y\n");
        let refused = parse(&db, &mut Notes::default()).err();
        assert_eq!(refused.as_deref(), Some("/lib/apk/db/installed lists more than 2000000 files: not read"));
    }
}
