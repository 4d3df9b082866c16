#!/usr/bin/env bash
# tools/man/mkman.sh BUILD_DIR OUT_DIR - writes capctl.8, capshim.8,
# capd.8 and capqueue.8 from the programs' own manuals ('capctl help VERB',
# 'capshim --help', 'capd --help', 'capqueue --help'), so that a verb or option added to a program is
# in its man page at the next build, and a man page never says what the
# program does not. pam_capd.8, captun.conf.5 and captun-policy.5 are
# written by hand (docs/man/).
set -euo pipefail

BUILD=${1:?usage: mkman.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: mkman.sh BUILD_DIR OUT_DIR}
VERSION=$("$BUILD/capctl" --version | awk '{print $3}')
DATE=${SOURCE_DATE_EPOCH:+$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)}
DATE=${DATE:-$(git log -1 --format=%cs 2>/dev/null || date -u +%Y-%m-%d)}
mkdir -p "$OUT"

# Text with roff's special characters made plain.
ROFF_ESC='
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.\x27]/) s = "\\&" s
	return s
}'

# A capctl help page (NAME / SYNOPSIS / ... sections, 4-space bodies,
# options at 4 spaces with 8-space descriptions) as roff. level 1: the
# page's sections are .SH; level 2: they are bold paragraphs under .SS.
page_roff() { # LEVEL
	awk -v level="$1" "$ROFF_ESC"'
	function flush() { if (para != "") { print para; para = "" } }
	/^[A-Z][A-Z ]*$/ {
		flush()
		sect = $0
		if (level == 1) print ".SH " $0
		else if (sect != "NAME") print ".PP\n.B " $0
		verbatim = (sect == "SYNOPSIS" || sect == "EXAMPLE" || sect == "FILES" || \
			    sect == "ENVIRONMENT" || sect == "EXIT STATUS" || sect == "VERBS")
		if (verbatim) print ".nf\n.RS 4"
		next
	}
	level == 2 && sect == "NAME" { next }
	/^$/ {
		flush()
		if (verbatim) { print ".RE\n.fi"; verbatim = 0; vclosed = 1 }
		else print ".PP"
		next
	}
	verbatim { sub(/^    /, ""); print esc($0); next }
	/^    -/ {
		flush()
		opt = $0; sub(/^ +/, "", opt)
		print ".TP\n.B " esc(opt)
		next
	}
	{ line = $0; sub(/^ +/, "", line); para = para (para == "" ? "" : "\n") esc(line) }
	END { flush(); if (verbatim) print ".RE\n.fi" }'
}

# capctl(8): the overview page, then one subsection per verb.
{
	echo ".TH CAPCTL 8 \"$DATE\" \"captun $VERSION\" \"captun\""
	"$BUILD/capctl" --help | page_roff 1
	echo ".SH VERBS IN DETAIL"
	"$BUILD/capctl" --help | awk '/^VERBS/ { on = 1; next } /^[A-Z]/ { on = 0 }
		on && $1 ~ /^[a-z]/ { print $1 }' | awk '!seen[$0]++' |
	while read -r verb; do
		echo ".SS \"capctl $verb\""
		"$BUILD/capctl" help "$verb" | page_roff 2
	done
} >"$OUT/capctl.8"

# A daemon's --help ("Usage:" line, paragraphs, "Options:" with
# "  -x, --long ARG   text" and continuation lines, then "Title:" sections).
daemon_roff() { # NAME SUMMARY
	local name=$1 summary=$2
	echo ".TH ${name^^} 8 \"$DATE\" \"captun $VERSION\" \"captun\""
	echo ".SH NAME"
	echo "$name \\- $summary"
	awk "$ROFF_ESC"'
	function flush() { if (para != "") { print para; para = "" } }
	NR == 1 && /^Usage: / { sub(/^Usage: /, ""); print ".SH SYNOPSIS\n.B " esc($0) "\n.SH DESCRIPTION"; next }
	/^[A-Z][A-Za-z ]*:/ && !/^  / {
		flush()
		title = $0; sub(/:.*/, "", title); rest = $0; sub(/^[^:]*: ?/, "", rest)
		print ".SH " toupper(title)
		opts = (title == "Options"); ex = (title == "Example" || title == "Examples")
		if (ex) print ".nf\n.RS 4"
		if (rest != "") para = esc(rest)
		next
	}
	/^$/ { flush(); if (ex) { print ".RE\n.fi"; ex = 0 } else print ".PP"; next }
	ex { sub(/^  /, ""); print esc($0); next }
	opts && /^  [ -]?-/ && substr($0, 3, 1) != " " || opts && /^      --/ {
		flush()
		line = $0; sub(/^ +/, "", line)
		n = match(line, /  +/)
		if (n) { head = substr(line, 1, n - 1); desc = substr(line, n); sub(/^ +/, "", desc) }
		else { head = line; desc = "" }
		print ".TP\n.B " esc(head)
		if (desc != "") para = esc(desc)
		next
	}
	opts && length($0) > 25 && substr($0, 1, 25) ~ /^ +$/ { flush(); line = $0; sub(/^ +/, "", line); print ".br"; para = esc(line); next }
	{ line = $0; sub(/^ +/, "", line); para = para (para == "" ? "" : "\n") esc(line) }
	END { flush(); if (ex) print ".RE\n.fi" }'
	echo ".SH SEE ALSO"
	echo "capctl(8), capshim(8), capd(8), pam_capd(8), captun.conf(5), captun-policy(5)"
}

"$BUILD/capshim" --help | daemon_roff capshim "captun's data plane: encrypted overlay with capability checks" >"$OUT/capshim.8"
"$BUILD/capd" --help | daemon_roff capd "captun's session daemon: logins narrow the host's capability" >"$OUT/capd.8"
if [ -x "$BUILD/capqueue" ]; then
	"$BUILD/capqueue" --help | daemon_roff capqueue "captun's NFQUEUE reader: refused flows with their process" >"$OUT/capqueue.8"
fi
