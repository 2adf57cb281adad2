#!/usr/bin/env bash
# Runs the build stage of deploy/Dockerfile without Docker, for machines (and CI) that have no Docker engine.
#
# It reads the Dockerfile itself and replays the WORKDIR, COPY and RUN instructions of the stage named
# "build" in an empty scratch directory that stands in for the container's filesystem: a COPY that forgets a
# file the build needs fails here exactly as it would in `docker build`. Absolute container paths in RUN
# commands (/src, /app/publish) are mapped into the scratch directory. The .dockerignore rules that matter
# for COPY of a folder (bin/ and obj/) are applied. Then it checks that the runtime stage's ENTRYPOINT DLL
# and the files COPY --from=build takes exist.
#
#   scripts/dockerfile-build.sh            # build, check, clean up
#   KEEP=1 scripts/dockerfile-build.sh     # keep the scratch directory and print it
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
dockerfile="$repo/deploy/Dockerfile"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/dockerfile-build.XXXXXX")"
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$scratch"' EXIT; fi

log() { echo "[dockerfile-build] $*" >&2; }

# Join continuation lines, drop comments and blank lines.
instructions="$(sed -e 's/[[:space:]]*\\$/ \\/' "$dockerfile" | awk '
  /^[[:space:]]*#/ { next }
  { if (sub(/ \\$/, " ")) { buf = buf $0; next } print buf $0; buf = "" }' | sed '/^[[:space:]]*$/d')"

map_path() { # map a container path to the scratch directory; relative paths are relative to WORKDIR
  case "$1" in
    /*) printf '%s%s' "$scratch" "$1" ;;
    *) printf '%s/%s' "$workdir" "$1" ;;
  esac
}

copy_into() { # copy_into SRC DEST: Docker COPY semantics for a file or a folder (its contents)
  local src="$1" dest="$2"
  if [ -d "$repo/$src" ]; then
    mkdir -p "$dest"
    (cd "$repo/$src" && find . -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0 \
      | while IFS= read -r -d '' f; do mkdir -p "$dest/$(dirname "$f")"; cp "$f" "$dest/$f"; done)
  elif [ -f "$repo/$src" ]; then
    if [[ "$dest" == */ ]]; then mkdir -p "$dest"; cp "$repo/$src" "$dest"; else mkdir -p "$(dirname "$dest")"; cp "$repo/$src" "$dest"; fi
  else
    log "COPY source '$src' does not exist in the build context"; exit 1
  fi
}

stage="" workdir="$scratch" from_build=() entry_dll="" runtime_workdir=""
while IFS= read -r line; do
  read -r op rest <<<"$line"
  op="${op^^}"
  if [ "$op" = FROM ]; then
    stage="$(sed -nE 's/.*[[:space:]][Aa][Ss][[:space:]]+([A-Za-z0-9_-]+)[[:space:]]*$/\1/p' <<<"$rest")"
    log "stage ${stage:-?}: FROM $rest"
    continue
  fi
  if [ "$stage" != build ]; then
    case "$op" in
      WORKDIR) runtime_workdir="$rest" ;;
      COPY) if [[ "$rest" == --from=build* ]]; then read -r _ src _ <<<"$rest"; from_build+=("$src"); fi ;;
      ENTRYPOINT) entry_dll="$(grep -oE '[A-Za-z0-9_.-]+\.dll' <<<"$rest" | head -n1)" ;;
    esac
    continue
  fi
  case "$op" in
    WORKDIR)
      workdir="$(map_path "$rest")"; mkdir -p "$workdir" ;;
    COPY)
      read -r -a parts <<<"$rest"
      dest="${parts[-1]}"; unset 'parts[-1]'
      dest_mapped="$(map_path "$dest")"; [[ "$dest" == */ ]] && dest_mapped="$dest_mapped/"
      for src in "${parts[@]}"; do
        if [ "${#parts[@]}" -gt 1 ] || [[ "$dest" == */ ]]; then
          if [ -d "$repo/$src" ]; then copy_into "$src" "$dest_mapped"; else copy_into "$src" "${dest_mapped%/}/"; fi
        else
          copy_into "$src" "$dest_mapped"
        fi
      done ;;
    RUN)
      cmd="$(sed -E "s#(^|[[:space:]=])/#\\1$scratch/#g" <<<"$rest")"
      log "RUN $rest"
      (cd "$workdir" && bash -euo pipefail -c "$cmd") ;;
    ENV|ARG|LABEL|SHELL|USER|EXPOSE) ;;
    *) log "instruction $op is not replayed by this script; extend it"; exit 1 ;;
  esac
done <<<"$instructions"

for src in "${from_build[@]}"; do
  [ -e "$(map_path "$src")" ] || { log "COPY --from=build $src: not produced by the build stage"; exit 1; }
done
publish="$(map_path "${from_build[0]:-/app/publish}")"
[ -n "$entry_dll" ] && [ -f "$publish/$entry_dll" ] || { log "ENTRYPOINT $entry_dll missing from $publish"; exit 1; }
[ -f "$publish/${entry_dll%.dll}.runtimeconfig.json" ] || { log "${entry_dll%.dll}.runtimeconfig.json missing"; exit 1; }
# The image ships what the benchmark measured: ReadyToRun code (AppService.csproj), whose header signature is "RTR\0".
LC_ALL=C grep -q -a -P 'RTR\x00' "$publish/$entry_dll" || { log "$entry_dll is not ReadyToRun: the publish lost -r linux-x64 or PublishReadyToRun"; exit 1; }
log "ok: $publish/$entry_dll, ReadyToRun (runtime WORKDIR ${runtime_workdir:-/})"
[ -n "${KEEP:-}" ] && echo "$scratch"
exit 0
