# Sourced by serve.sh and test.sh: create .venv and install a requirements file into it.
# Reinstalls only when a requirements file changed, so repeated runs start fast.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

ensure_venv() {
    local requirements="$1"
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        rm -rf .venv
        # Debian ships venv (ensurepip) as a separate package.
        if ! python3 -m venv .venv >/dev/null 2>&1; then
            rm -rf .venv
            echo "installing python3-venv ..."
            apt_install python3-venv
            python3 -m venv .venv
        fi
    fi
    local stamp=".venv/.installed-${requirements}.sha256"
    local wanted
    wanted="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "installing $requirements into .venv ..."
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
        echo "$wanted" > "$stamp"
    fi
}
