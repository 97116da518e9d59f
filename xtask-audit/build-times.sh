#!/usr/bin/env bash
# Clean release build time of each audited crate with its dependency tree, one probe package per
# crate (same versions and features as xtask-audit/Cargo.toml), each in a fresh target directory.
# The machine is shared: besides the wall time, the CPU time (user + sys of cargo and every rustc,
# from GNU time) is given, which a loaded machine inflates much less; and the load average.
#   xtask-audit/build-times.sh [crate-name ...] > build-times.md
set -euo pipefail
ROOT=${AUDIT_PROBES:-${SPACEPART_CACHE:-/var/cache/spacepart}/audit-probes}
declare -A DEP=(
  [faer]='faer = { version = "0.24", default-features = false, features = ["std", "linalg"] }'
  [nalgebra]='nalgebra = "0.35"'
  [linfa-svm]='linfa = "0.8"
linfa-svm = "0.8"'
  [linfa-clustering]='linfa = "0.8"
linfa-clustering = "0.8"'
  [egobox-gp]='egobox-gp = "0.37"'
  [argmin]='argmin = "0.11"
argmin-math = "0.5"'
  [cmaes]='cmaes = { version = "0.2", default-features = false }'
  [plotters]='plotters = { version = "0.3", default-features = false, features = ["svg_backend", "line_series", "area_series"] }'
  [searchkit]='searchkit = { path = "'"$(cd "$(dirname "$0")/.." && pwd)"'/crates/searchkit" }'
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(searchkit faer nalgebra linfa-svm linfa-clustering egobox-gp argmin cmaes plotters)
echo "| crate | clean release build: CPU (user + sys) | wall | crates compiled | load average before → after |"
echo "|---|---|---|---|---|"
for n in "${names[@]}"; do
  d="$ROOT/$n"; rm -rf "$d"; mkdir -p "$d/src"
  printf '[package]\nname = "probe-%s"\nversion = "0.0.0"\nedition = "2021"\n[workspace]\n[dependencies]\n%s\n' "$n" "${DEP[$n]}" > "$d/Cargo.toml"
  echo 'fn main() {}' > "$d/src/main.rs"
  (cd "$d" && cargo fetch -q)
  l0=$(cut -d' ' -f1 /proc/loadavg)
  (cd "$d" && CARGO_TARGET_DIR="$d/target" /usr/bin/time -o "$d/time" -f "%e %U %S" nice -n 10 cargo build --release 2> "$d/build.log")
  read -r wall usr sys < "$d/time"
  l1=$(cut -d' ' -f1 /proc/loadavg)
  c=$(grep -c '^ *Compiling' "$d/build.log" || true)
  printf '| %s | %.0f s | %.0f s | %s | %s → %s |\n' "$n" "$(echo "$usr + $sys" | bc)" "$wall" "$c" "$l0" "$l1"
  rm -rf "$d/target"
done
