//! Dependency installs and the manifests they read: a cache-friendly Dockerfile copies the
//! manifests, installs, then copies the rest. Shared by the linter (IMG301 reports `COPY . .`
//! before the install) and the rewriter (which reorders them).

use super::run_script::{is_pip_install, RunCommand, PIP, PLAIN};

/// A dependency install and the files it reads. `manifests` lists candidates: only those
/// present in the build context are copied; `manifest_globs` are suffixes (`.csproj`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyInstall {
    pub ecosystem: &'static str,
    pub manifests: Vec<String>,
    /// It may also read the sources (a `postinstall` script, the project itself), so moving
    /// it before them is not safe without a flag that says otherwise.
    pub reads_sources: bool,
}

fn install(ecosystem: &'static str, manifests: &[&str], reads_sources: bool) -> Option<DependencyInstall> {
    Some(DependencyInstall { ecosystem, manifests: manifests.iter().map(|m| m.to_string()).collect(), reads_sources })
}

/// The dependency install `cmd` runs, if it is one: npm ci/install, yarn (install), pnpm
/// install, pip install -r, poetry install, pipenv install, bundle install, go mod download,
/// `go get -d` of local packages, dotnet restore, cargo fetch, composer install, mvn dependency:*, gradle dependencies.
pub fn dependency_install(cmd: &RunCommand<'_, '_>) -> Option<DependencyInstall> {
    let sub = cmd.subcommand(PLAIN);
    let operands = cmd.operands(PLAIN);
    let has = |long: &str| cmd.args().iter().any(|w| w.text == long);
    match cmd.name()? {
        "npm" if matches!(sub, Some("ci" | "install" | "i")) && operands.len() == 1 => {
            install("npm", &["package.json", "package-lock.json", "npm-shrinkwrap.json", ".npmrc"], false)
        }
        "yarn" if matches!(sub, None | Some("install")) => {
            install("yarn", &["package.json", "yarn.lock", ".yarnrc", ".yarnrc.yml"], false)
        }
        "pnpm" if sub == Some("install") => {
            install("pnpm", &["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", ".npmrc"], false)
        }
        "poetry" if sub == Some("install") => install("poetry", &["pyproject.toml", "poetry.lock"], !has("--no-root")),
        "pipenv" if sub == Some("install") => install("pipenv", &["Pipfile", "Pipfile.lock"], false),
        "bundle" if sub == Some("install") => install("bundler", &["Gemfile", "Gemfile.lock"], false),
        "composer" if sub == Some("install") => {
            install("composer", &["composer.json", "composer.lock"], !(has("--no-scripts") && has("--no-autoloader")))
        }
        "go" if operands.iter().map(|w| &*w.text).collect::<Vec<_>>() == ["mod", "download"] => {
            install("go", &["go.mod", "go.sum"], false)
        }
        // GOPATH-era or module-mode `go get -d ./...`: the local packages' imports, per go.mod.
        "go" if sub == Some("get")
            && has("-d")
            && operands[1..].iter().all(|w| w.text.starts_with("./") || w.text == ".") =>
        {
            install("go", &["go.mod", "go.sum"], operands.len() > 1)
        }
        // `dotnet restore` reads the project it is given (or finds one in the directory: then
        // its name is not known here) and the NuGet settings files.
        "dotnet" if sub == Some("restore") => {
            let project: Vec<&str> = operands[1..]
                .iter()
                .map(|w| &*w.text)
                .filter(|p| [".csproj", ".fsproj", ".vbproj", ".sln", ".slnx"].iter().any(|e| p.ends_with(e)))
                .collect();
            let mut manifests = project.clone();
            manifests.extend([
                "NuGet.Config",
                "nuget.config",
                "Directory.Build.props",
                "Directory.Packages.props",
                "global.json",
            ]);
            install("dotnet", &manifests, project.is_empty())
        }
        "cargo" if sub == Some("fetch") => install("cargo", &["Cargo.toml", "Cargo.lock"], true),
        "mvn" | "mvnw" | "gradle" | "gradlew"
            if cmd.args().iter().any(|w| w.text.starts_with("dependency:") || w.text == "dependencies") =>
        {
            install("maven", &["pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle"], true)
        }
        _ if is_pip_install(cmd) && cmd.has_option(PIP, Some('r'), &["requirement"]) => {
            // The requirement files it names; anything else it installs (`.`, `-e .`) is the project.
            let mut files = Vec::new();
            let mut project = false;
            let args = cmd.args();
            let mut i = 0;
            while i < args.len() {
                let w = &*args[i].text;
                if w == "-r" || w == "--requirement" {
                    files.extend(args.get(i + 1).map(|f| f.text.to_string()));
                    i += 1;
                } else if let Some(f) =
                    w.strip_prefix("--requirement=").or_else(|| w.strip_prefix("-r").filter(|f| !f.is_empty()))
                {
                    files.push(f.to_string());
                } else if !w.starts_with('-') && w != "install" {
                    project |= w.starts_with('.') || w.starts_with('/');
                }
                i += 1;
            }
            Some(DependencyInstall { ecosystem: "pip", manifests: files, reads_sources: project })
        }
        _ => None,
    }
}
