#!/bin/sh
# logwire quick start.
#
#   ./quickstart.sh          build everything, then run logwired on ./var
#   ./quickstart.sh check    build everything, then run the whole test suite
#
# Missing Debian packages are installed first (apt-get, as root or through
# sudo).  Extra arguments after "run" are passed to logwired.
set -eu

cd "$(dirname "$0")"

PKGS="build-essential autoconf automake libtool pkg-config
liblmdb-dev libevent-dev libssl-dev libzstd-dev libjansson-dev libyajl-dev libcunit1-dev
libxxhash-dev libwslay-dev libhttp-parser-dev mandoc lmdb-utils zstd curl"

install_packages() {
	missing=""
	for p in $PKGS; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed"; then
			missing="$missing $p"
		fi
	done
	[ -z "$missing" ] && return 0
	echo "quickstart: installing Debian packages:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=""
	elif command -v sudo >/dev/null; then
		SUDO="sudo"
	else
		echo "quickstart: need root or sudo to install:$missing" >&2
		exit 1
	fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
}

build() {
	install_packages
	if [ ! -x configure ] || [ configure.ac -nt configure ]; then
		autoreconf -fi
	fi
	if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
		./configure ${CONFIGURE_FLAGS:-}
	fi
	make -j"$(nproc 2>/dev/null || echo 2)"
}

# Print every CUnit run summary, then one closing line with the totals.
summarize() {
	ran=0
	failed=0
	for log in tests/*.log; do
		[ -f "$log" ] || continue
		grep -q "Run Summary" "$log" || continue
		echo "== ${log%.log}"
		sed -n '/Run Summary/,/asserts/p' "$log"
		set -- $(awk '$1 == "tests" { print $3, $5 }' "$log")
		ran=$((ran + ${1:-0}))
		failed=$((failed + ${2:-0}))
	done
	echo "cunit: $((ran - failed)) passed, $failed failed"
}

case "${1:-run}" in
check)
	build
	status=0
	make -j"$(nproc 2>/dev/null || echo 2)" check || status=$?
	summarize
	exit $status
	;;
run)
	[ $# -gt 0 ] && shift
	build
	mkdir -p var
	echo "quickstart: logwired on http://127.0.0.1:8080/ (data in ./var)"
	echo "quickstart: in another terminal: src/logwire tail demo"
	echo "quickstart: and in a third: src/logwire publish demo hello"
	exec src/logwired -d var "$@"
	;;
*)
	echo "usage: $0 [run [logwired flags] | check]" >&2
	exit 2
	;;
esac
