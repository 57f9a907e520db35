# Sourced by tools/fuzz and tools/asan-tests: compiles swiftlm's modules with plain swiftc,
# outside SwiftPM, each into a static library instrumented as the caller asks (a sanitizer
# build of the whole package through SwiftPM takes several times longer).
# The caller sets: root (the repository), modules_dir (where libraries and .swiftmodule files
# go), compile_flags (an array: optimization, sanitizers, -I paths), tool (its name, for
# messages), and optionally lists_dir (a folder with NAME.sources files, see module_sources).

# The host's vector units, as Package.swift enables them for the kernel modules.
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
has_cpu() { for f in "$@"; do [[ " $cpu_flags " == *" $f "* ]] || return 1; done; }
kernel_defines=()
if has_cpu avx512f avx512bw avx512vl avx512_vnni f16c fma; then
    kernel_defines+=(-D AVX512)
    has_cpu avx512vbmi && kernel_defines+=(-D AVX512_VBMI)
fi
has_cpu avx2 fma f16c && kernel_defines+=(-D AVX2)

# A module's sources: NAME.sources in lists_dir (one path or folder of Sources/NAME per line:
# just those files, the part of a module that needs no server framework), else Sources/NAME,
# Tests/NAME (TestSupport is Tests/Support), or a package's module in SwiftPM's checkouts
# (.build/checkouts/*/Sources/NAME, there after `swift build`).
module_sources() {
    local module="$1" list="${lists_dir:-/nonexistent}/$1.sources" dir
    if [[ -f "$list" ]]; then
        grep -v '^#' "$list" | while read -r entry; do
            [[ -n "$entry" ]] && find "$root/Sources/$module/$entry" -name '*.swift'
        done | sort
        return
    fi
    for dir in "$root/Sources/$module" "$root/Tests/$module" "$root/Tests/${module#Test}" \
               $(ls -d "$root"/.build/checkouts/*/Sources/"$module" 2>/dev/null); do
        [[ -d "$dir" ]] && { find "$dir" -name '*.swift' | sort; return; }
    done
    echo "$tool: no module '$module' in Sources/, Tests/ or .build/checkouts (run swift build first)" >&2
    exit 2
}

# Compiles one module unless its sources and flags are unchanged since the last time.
build_module() {
    local module="$1"
    local sources; sources=$(module_sources "$module")
    local stamp; stamp=$( (cat $sources "$root"/Sources/C*/*; echo "${compile_flags[*]} ${kernel_defines[*]}") | sha256sum | cut -c1-16)
    [[ -f "$modules_dir/$module.stamp" && "$(cat "$modules_dir/$module.stamp")" == "$stamp" \
        && -f "$modules_dir/lib$module.a" ]] && return 0
    local extra=(-swift-version 6)
    case "$module" in
        Tensor|Quant|Transformer) extra=(-swift-version 6 -Xcc -march=native -enforce-exclusivity=unchecked "${kernel_defines[@]}") ;;
        *Tests) extra=(-swift-version 5) ;;   # as SwiftPM builds test targets
    esac
    echo "$tool: compiling $module" >&2
    mkdir -p "$modules_dir"
    # shellcheck disable=SC2086
    swiftc "${compile_flags[@]}" "${extra[@]}" -I "$modules_dir" -I "$root/Sources/COpenBLAS" -I "$root/Sources/CPrefetch" \
        -module-name "$module" -emit-module -emit-module-path "$modules_dir/$module.swiftmodule" \
        -emit-library -static -o "$modules_dir/lib$module.a" $sources \
        2> >(grep -v 'Cannot export local symbol' >&2)
    echo "$stamp" > "$modules_dir/$module.stamp"
}

# -l flags for static libraries: users before what they use, the reverse of dependency order.
link_flags() {
    local i modules=("$@")
    for ((i = ${#modules[@]} - 1; i >= 0; i--)); do printf -- '-l%s\n' "${modules[i]}"; done
}
