# Sourced by installer/bootstrap.sh and installer/build-linux.sh (one copy of the search):
#     . installer/find-python.sh && python=$(find_python) || exit 1
# find_python prints the first of python3.11, python3.12, python3.13 and python3 on the PATH
# that is Python 3.11 or newer; with none it says so on stderr and returns 1.
find_python() {
  local candidate
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "camfx: Python 3.11 or newer is needed (none of python3.11, python3.12, python3.13," \
    "python3 on the PATH is)" >&2
  return 1
}
