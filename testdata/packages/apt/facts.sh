# Runs inside the apt test image (build-apt-image.sh): one line per package,
#   dpkg<TAB>NAME<TAB>Installed-Size KiB<TAB>du bytes<TAB>listed paths<TAB>control bytes<TAB>control files
#   python<TAB>NAME<TAB>-<TAB>bytes<TAB>listed paths<TAB>-<TAB>-
# du counts the regular files `dpkg -L` lists, each inode once; the control files are the
# package's maintainer scripts, md5sums, symbols… kept in /var/lib/dpkg/info
# (`dpkg-query --control-path`), which dpkg's Installed-Size counts too.
set -euo pipefail
regular_files() { while IFS= read -r f; do if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s\0' "$f"; fi; done; }
bytes_of() { du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1; }
dpkg-query -W -f '${Package}\t${Installed-Size}\n' | while IFS=$'\t' read -r pkg kib; do
  list=$(dpkg -L "$pkg")
  paths=$(printf '%s\n' "$list" | grep -c '^/.' || true)
  bytes=$(printf '%s\n' "$list" | regular_files | bytes_of)
  control=$(dpkg-query --control-path "$pkg")
  control_files=$(printf '%s\n' "$control" | grep -c . || true)
  control_bytes=$(printf '%s\n' "$control" | regular_files | bytes_of)
  printf 'dpkg\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pkg" "$kib" "${bytes:-0}" "$paths" "${control_bytes:-0}" "$control_files"
done
python3 - <<'PY'
import importlib.metadata as md, os, stat
for d in md.distributions(path=["/usr/local/lib/python3.11/dist-packages"]):
    seen, total, files = set(), 0, list(d.files or [])
    for f in files:
        try:
            st = os.stat(f.locate())
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    print(f"python\t{d.metadata['Name']}\t-\t{total}\t{len(files)}\t-\t-")
PY
